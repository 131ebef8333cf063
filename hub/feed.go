package hub

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hexiao/hexiao/protocol"
)

// scanLimit bounds the rows one feed or snapshot request reads, so a store
// whose scope is a small part of a large chain gets its answer in bounded
// time (More / Resume say there is more).
const scanLimit = 20000

// Feed serves the changes in the terminal's store scope after the
// request's cursor.
func (h *Hub) Feed(ctx context.Context, terminal string, req *protocol.FeedRequest) (protocol.FeedPage, error) {
	page := protocol.FeedPage{Terminal: terminal, After: req.After, Next: req.After, Changes: []protocol.Change{}}
	t, prob, err := h.feedTerminal(ctx, terminal)
	if err != nil {
		return page, err
	}
	if prob != nil {
		page.Problem = prob
		return page, nil
	}
	if err := protocol.CheckOrigin(req, terminal, t.Store); err != nil {
		return page, invalid("feed: %v", err)
	}
	store, _ := h.storeByID(t.Store)
	limit := req.Limit
	if limit <= 0 || limit > protocol.MaxPageChanges {
		limit = protocol.MaxPageChanges
	}
	err = h.store.View(ctx, func(r Reader) error {
		head, err := r.FeedHead()
		if err != nil {
			return err
		}
		if req.After > head {
			page.Problem = &protocol.Problem{Code: protocol.ProblemCursorExpired,
				Message: fmt.Sprintf("cursor %d is ahead of this hub's feed (%d): take a snapshot", req.After, head)}
			return nil
		}
		after, scanned := req.After, 0
		for len(page.Changes) < limit && after < head && scanned < scanLimit {
			rows, err := r.Changes(after, min(4*limit, scanLimit-scanned))
			if err != nil {
				return err
			}
			if len(rows) == 0 {
				break
			}
			for _, c := range rows {
				scanned++
				after = c.Seq
				if !c.Audience.Admits(store.ID, store.Region) {
					continue
				}
				ch, err := h.unsealChange(c.Change)
				if err != nil {
					return err
				}
				page.Changes = append(page.Changes, ch)
				if len(page.Changes) == limit {
					break
				}
			}
		}
		page.Next, page.More = after, after < head
		return nil
	})
	if err != nil {
		return protocol.FeedPage{}, fmt.Errorf("feed for %s: %w", terminal, err)
	}
	if page.Problem != nil {
		page.Changes, page.Next, page.More = []protocol.Change{}, req.After, false
	}
	h.stats.FeedPages.Add(1)
	return page, nil
}

// feedTerminal finds the terminal, or the problem to report instead.
func (h *Hub) feedTerminal(ctx context.Context, id string) (Terminal, *protocol.Problem, error) {
	t, err := h.terminal(ctx, id)
	if e := AsError(err); e != nil && e.Kind == NotFound {
		return t, &protocol.Problem{Code: protocol.ProblemUnknown, Message: e.Msg}, nil
	}
	if err != nil {
		return t, nil, err
	}
	if t.Status != TerminalActive {
		return t, &protocol.Problem{Code: protocol.ProblemRevoked, Message: "this terminal was revoked at the hub: wipe the cache and stop redeeming"}, nil
	}
	return t, nil, nil
}

func (h *Hub) unsealChange(c protocol.Change) (protocol.Change, error) {
	if c.Code == nil || c.Code.Format != protocol.FormatDynamic {
		return c, nil
	}
	st := *c.Code
	seed, err := h.sec.Open("seed/"+st.ID, st.Seed)
	if err != nil {
		return c, err
	}
	st.Seed = seed
	c.Code = &st
	return c, nil
}

// resume is the state a snapshot resume token carries, sealed with the
// master key so a terminal can neither read nor forge it.
type resume struct {
	Terminal string    `json:"t"`
	AsOf     uint64    `json:"s"`
	Acked    uint64    `json:"a"`
	After    string    `json:"c"` // last code id sent
	Page     int       `json:"p"`
	Started  time.Time `json:"at"`
}

// Snapshot serves one page of everything the terminal's store may redeem:
// the first page (empty Resume) carries the store, the campaigns in scope,
// the issuing keys and the store's settlement locks; every page carries up
// to Limit codes in id order. Signed codes that are active and unused are
// left out: they carry themselves. After the Last page the terminal follows
// the feed from AsOf; codes changed during the snapshot are sent again by
// the feed, whose changes carry whole states.
func (h *Hub) Snapshot(ctx context.Context, terminal string, req *protocol.SnapshotRequest) (protocol.SnapshotPage, error) {
	page := protocol.SnapshotPage{Terminal: terminal}
	t, prob, err := h.feedTerminal(ctx, terminal)
	if err != nil {
		return page, err
	}
	if prob != nil {
		page.Problem, page.Last = prob, true
		return page, nil
	}
	if err := protocol.CheckOrigin(req, terminal, t.Store); err != nil {
		return page, invalid("snapshot: %v", err)
	}
	limit := req.Limit
	if limit <= 0 || limit > protocol.MaxSnapshotCodes {
		limit = protocol.MaxSnapshotCodes
	}
	var st resume
	if req.Resume != "" {
		st, err = h.openResume(terminal, req.Resume)
		if err != nil {
			page.Problem, page.Last = &protocol.Problem{Code: protocol.ProblemResumeExpired, Message: err.Error()}, true
			return page, nil
		}
	}
	store, _ := h.storeByID(t.Store)
	err = h.store.View(ctx, func(r Reader) error {
		if req.Resume == "" {
			head, err := r.FeedHead()
			if err != nil {
				return err
			}
			st = resume{Terminal: terminal, AsOf: head, Acked: t.Head, Started: h.now().UTC()}
			if err := h.firstPage(r, &page, store); err != nil {
				return err
			}
		}
		page.Page = st.Page // pages count from 0, as a snapshot file does
		st.Page++
		after, scanned := st.After, 0
		for len(page.Codes) < limit && scanned < scanLimit {
			n := min(2*limit, scanLimit-scanned)
			rows, err := r.CodesAfter(after, n)
			if err != nil {
				return err
			}
			if len(rows) == 0 {
				page.Last = true
				break
			}
			for _, c := range rows {
				scanned++
				after = c.ID
				if c.Format == protocol.FormatSigned && c.Used == 0 && c.Status == protocol.StatusActive {
					continue
				}
				if !h.codeAudience(c).Admits(store.ID, store.Region) {
					continue
				}
				cs, err := h.codeState(c)
				if err != nil {
					return err
				}
				page.Codes = append(page.Codes, cs)
				if len(page.Codes) == limit {
					break
				}
			}
			if len(rows) < n && after == rows[len(rows)-1].ID {
				page.Last = true // a short read taken to its end: nothing follows
				break
			}
		}
		st.After = after
		return nil
	})
	if err != nil {
		return protocol.SnapshotPage{}, fmt.Errorf("snapshot for %s: %w", terminal, err)
	}
	page.Snapshot = fmt.Sprintf("%s-%d", terminal, st.Started.UnixNano())
	page.AsOf, page.Acked = st.AsOf, st.Acked
	if !page.Last {
		page.Resume = h.sealResume(st)
	}
	h.stats.SnapshotPages.Add(1)
	return page, nil
}

func (h *Hub) firstPage(r Reader, page *protocol.SnapshotPage, store protocol.Store) error {
	page.Stores = []protocol.Store{store}
	camps, err := r.Campaigns()
	if err != nil {
		return err
	}
	for _, c := range camps {
		if c.InScope(store.ID, store.Region) {
			page.Campaigns = append(page.Campaigns, c)
		}
	}
	keys, err := r.Keys()
	if err != nil {
		return err
	}
	for _, k := range keys {
		page.Keys = append(page.Keys, k.IssuingKey)
	}
	page.Locks, err = r.Locks(store.ID)
	return err
}

func (h *Hub) sealResume(st resume) string {
	b, _ := json.Marshal(st)
	return base64.RawURLEncoding.EncodeToString(h.sec.Seal("resume/"+st.Terminal, b))
}

func (h *Hub) openResume(terminal, token string) (resume, error) {
	var st resume
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return st, errors.New("the resume token is not one this hub made: start the snapshot again")
	}
	b, err := h.sec.Open("resume/"+terminal, raw)
	if err != nil {
		return st, errors.New("the resume token is not one this hub made for this terminal: start the snapshot again")
	}
	if err := json.Unmarshal(b, &st); err != nil || st.Terminal != terminal {
		return st, errors.New("the resume token is unreadable: start the snapshot again")
	}
	if h.now().Sub(st.Started) > h.cfg.ResumeTTL {
		return st, fmt.Errorf("the snapshot started at %s is older than %s: start it again", st.Started.Format(time.RFC3339), h.cfg.ResumeTTL)
	}
	return st, nil
}
