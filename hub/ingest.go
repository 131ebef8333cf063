package hub

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/hexiao/hexiao/protocol"
)

// parking holds one terminal's events that arrived before their
// predecessors (a re-send overtaking the original after a reconnect). They
// live in memory only: the terminal keeps every event until the ack
// watermark covers it, so a hub restart loses nothing by forgetting them.
type parking struct {
	events map[uint64]protocol.SignedEvent
	since  time.Time // when the current gap was first seen
}

func (h *Hub) termLock(id string) *sync.Mutex {
	m, _ := h.termLocks.LoadOrStore(id, new(sync.Mutex))
	return m.(*sync.Mutex)
}

// refusal is an event the hub will not take, and why.
type refusal struct {
	seq    uint64
	kind   protocol.BreakKind
	detail string
}

// Ingest takes a batch of terminal's journal events (terminal comes from the
// topic and the broker login, never from the payload). It verifies the hash
// chain and signatures from the terminal's watermark, commits every event
// that continues the chain with its effect on codes, and returns the ack:
// the new watermark. Events seen before are counted once (by terminal:seq and
// hash); events ahead of a gap wait in memory for their predecessors; a fork,
// a bad signature or another terminal's event is refused in the ack
// (Refused) and raised as an alert. An error means nothing was committed and
// no ack should be sent; the terminal will send again.
func (h *Hub) Ingest(ctx context.Context, terminal string, b *protocol.EventBatch) (protocol.Ack, error) {
	h.stats.Batches.Add(1)
	mu := h.termLock(terminal)
	mu.Lock()
	defer mu.Unlock()

	t, err := h.terminal(ctx, terminal)
	if err != nil {
		return protocol.Ack{}, err
	}
	if t.Status != TerminalActive {
		err := h.update(ctx, func(w *writer) error {
			return w.raise(Alert{Kind: AlertRevokedTerm, Key: terminal, Stores: []string{t.Store}, Terminals: []string{terminal},
				Detail: fmt.Sprintf("revoked terminal %s sent %d events; none were taken", terminal, len(b.Events))})
		})
		if err != nil {
			return protocol.Ack{}, err
		}
		return protocol.Ack{}, conflict("terminal %s is revoked", terminal)
	}
	head := protocol.ChainHead{Terminal: terminal, Store: t.Store, Seq: t.Head, Hash: t.HeadHash}
	if err := protocol.CheckOrigin(b, terminal, t.Store); err != nil {
		h.stats.Refused.Add(int64(len(b.Events)))
		ref := refusal{seq: head.Seq + 1, kind: protocol.BreakWrongTerminal, detail: err.Error()}
		if err := h.refuse(ctx, t, []refusal{ref}); err != nil {
			return protocol.Ack{}, err
		}
		return h.ack(head, &ref), nil
	}

	verified, decoded, cur, refused, err := h.verify(ctx, t, head, b.Events)
	if err != nil {
		return protocol.Ack{}, err
	}
	gap := h.gapAlert(t, cur)
	if len(verified) == 0 && len(refused) == 0 && gap == nil {
		return h.ack(cur, nil), nil
	}
	err = h.updateGrouped(ctx, func(w *writer) error {
		if len(verified) > 0 {
			now, err := w.tx.Terminal(terminal)
			if err != nil {
				return err
			}
			if now.Head != head.Seq || now.Status != TerminalActive {
				return fmt.Errorf("terminal %s changed during ingest (head %d, was %d)", terminal, now.Head, head.Seq)
			}
			// The batch's claims and codes in a few round trips, not one each.
			claims, err := w.tx.Claims(terminal, decoded[0].Seq, decoded[len(decoded)-1].Seq)
			if err != nil {
				return err
			}
			codes := make([]string, 0, len(decoded))
			for _, e := range decoded {
				if e.Code != "" && e.Kind != protocol.KindAttempt {
					codes = append(codes, e.Code)
				}
			}
			if _, err := w.tx.Codes(codes); err != nil {
				return err
			}
			for i := range verified {
				var claim *Claim
				for len(claims) > 0 && claims[0].Seq <= decoded[i].Seq {
					if claims[0].Seq == decoded[i].Seq {
						claim = &claims[0]
					}
					claims = claims[1:]
				}
				if err := w.apply(&now, verified[i], decoded[i], claim); err != nil {
					return fmt.Errorf("event %s:%d: %w", terminal, decoded[i].Seq, err)
				}
			}
			if err := w.tx.SetHead(terminal, cur.Seq, cur.Hash); err != nil {
				return err
			}
		}
		for _, r := range refused {
			if err := w.refusalAlert(t, r); err != nil {
				return err
			}
		}
		if gap != nil {
			return w.raise(*gap)
		}
		return nil
	})
	if err != nil {
		h.unpark(terminal, verified, decoded)
		return protocol.Ack{}, fmt.Errorf("ingest %s: %w", terminal, err)
	}
	h.stats.Events.Add(int64(len(verified)))
	h.stats.Refused.Add(int64(len(refused)))
	var first *refusal
	if len(refused) > 0 {
		first = &refused[0]
	}
	return h.ack(cur, first), nil
}

// RefuseMalformed answers a terminal's message that does not decode (bad
// JSON, an unknown wire version, over the size limit): it raises a
// malformed_message alert (one per terminal until acknowledged) and
// returns the ack that refuses the batch at the terminal's watermark, so
// the terminal learns why instead of re-sending forever. The terminal id
// comes from the topic.
func (h *Hub) RefuseMalformed(ctx context.Context, terminal string, what protocol.TopicKind, detail string) (protocol.Ack, error) {
	t, err := h.terminal(ctx, terminal)
	if err != nil {
		return protocol.Ack{}, err
	}
	err = h.update(ctx, func(w *writer) error {
		return w.raise(Alert{Kind: AlertMalformed, Key: terminal, Stores: []string{t.Store}, Terminals: []string{terminal},
			Detail: fmt.Sprintf("terminal %s sent a %s message the hub cannot read: %s", terminal, what, detail)})
	})
	if err != nil {
		return protocol.Ack{}, err
	}
	head := protocol.ChainHead{Terminal: terminal, Store: t.Store, Seq: t.Head, Hash: t.HeadHash}
	return h.ack(head, &refusal{seq: t.Head + 1, kind: protocol.BreakMalformed, detail: detail}), nil
}

func (h *Hub) ack(head protocol.ChainHead, r *refusal) protocol.Ack {
	a := protocol.Ack{Terminal: head.Terminal, Seq: head.Seq, Hash: head.Hash, HubTime: h.now().UTC()}
	if r != nil {
		a.Refused = &protocol.ChainRefusal{Seq: r.seq, Kind: r.kind, Detail: r.detail}
	}
	return a
}

func (h *Hub) terminal(ctx context.Context, id string) (Terminal, error) {
	var t Terminal
	err := h.store.View(ctx, func(r Reader) error {
		var err error
		t, err = r.Terminal(id)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return t, notFound("unknown terminal %q", id)
	}
	return t, err
}

// verify sorts a batch into events that continue the chain from head
// (verified, with their decoded bodies, and the new head), duplicates of
// events already in the ledger (dropped and counted), events ahead of a gap
// (parked) and refusals. The common case, a batch that continues the chain
// exactly, costs one linked verification.
func (h *Hub) verify(ctx context.Context, t Terminal, head protocol.ChainHead, batch []protocol.SignedEvent) (
	verified []protocol.SignedEvent, decoded []protocol.Event, cur protocol.ChainHead, refused []refusal, err error) {
	h.parkMu.Lock()
	p := h.parked[t.ID]
	h.parkMu.Unlock()
	if p == nil || len(p.events) == 0 {
		nh, evs, cerr := protocol.VerifyChainLinked(head, t.Public, batch)
		if cerr == nil {
			return batch, evs, nh, nil, nil
		}
	}
	// The slow path: classify each event.
	if p == nil {
		p = &parking{events: map[uint64]protocol.SignedEvent{}}
	}
	err = h.store.View(ctx, func(r Reader) error {
		for _, se := range batch {
			e, derr := se.Decode()
			if derr != nil {
				refused = append(refused, refusal{seq: 0, kind: protocol.BreakMalformed, detail: derr.Error()})
				continue
			}
			if e.Seq > head.Seq {
				if old, ok := p.events[e.Seq]; ok && old.Hash() != se.Hash() {
					continue // two versions ahead of the gap: the chain decides when it gets there
				}
				if len(p.events) < h.cfg.ParkLimit {
					p.events[e.Seq] = se
				}
				continue
			}
			stored, serr := r.Event(protocol.EventRef{Terminal: t.ID, Seq: e.Seq})
			if serr != nil {
				return fmt.Errorf("event %s:%d below the watermark: %w", t.ID, e.Seq, serr)
			}
			if stored.Hash == se.Hash() {
				h.stats.Duplicates.Add(1)
				continue
			}
			if _, verr := se.Verify(t.Public); verr != nil {
				refused = append(refused, refusal{seq: e.Seq, kind: protocol.BreakBadSignature,
					detail: fmt.Sprintf("event %d differs from the one in the ledger and its signature does not verify: %v", e.Seq, verr)})
				continue
			}
			refused = append(refused, refusal{seq: e.Seq, kind: protocol.BreakFork,
				detail: fmt.Sprintf("the terminal signed two different events at seq %d (ledger %s, now %s)", e.Seq, stored.Hash, se.Hash())})
		}
		return nil
	})
	if err != nil {
		return nil, nil, head, nil, err
	}
	cur = head
	for {
		var run []protocol.SignedEvent
		for s := cur.Seq + 1; ; s++ {
			se, ok := p.events[s]
			if !ok {
				break
			}
			run = append(run, se)
		}
		if len(run) == 0 {
			break
		}
		nh, evs, cerr := protocol.VerifyChainLinked(cur, t.Public, run)
		verified = append(verified, run[:len(evs)]...)
		decoded = append(decoded, evs...)
		cur = nh
		for _, e := range evs {
			delete(p.events, e.Seq)
		}
		if cerr != nil {
			var ce *protocol.ChainError
			if !errors.As(cerr, &ce) {
				return nil, nil, head, nil, cerr
			}
			refused = append(refused, refusal{seq: ce.Seq, kind: ce.Kind, detail: ce.Detail})
			for s := range p.events { // nothing after a broken link can be taken
				if s > cur.Seq {
					delete(p.events, s)
				}
			}
			break
		}
	}
	for s := range p.events {
		if s <= cur.Seq {
			delete(p.events, s)
		}
	}
	h.parkMu.Lock()
	if len(p.events) == 0 {
		delete(h.parked, t.ID)
	} else {
		if h.parked[t.ID] == nil {
			p.since = h.now()
		}
		h.parked[t.ID] = p
		h.stats.Parked.Store(int64(len(p.events)))
	}
	h.parkMu.Unlock()
	return verified, decoded, cur, refused, nil
}

// unpark puts events back when their commit failed, so the next batch
// finds them.
func (h *Hub) unpark(terminal string, events []protocol.SignedEvent, decoded []protocol.Event) {
	if len(events) == 0 {
		return
	}
	h.parkMu.Lock()
	defer h.parkMu.Unlock()
	p := h.parked[terminal]
	if p == nil {
		p = &parking{events: map[uint64]protocol.SignedEvent{}, since: h.now()}
		h.parked[terminal] = p
	}
	for i, se := range events {
		p.events[decoded[i].Seq] = se
	}
}

// gapAlert returns a chain_gap alert when events of t have waited for
// missing predecessors longer than the grace period.
func (h *Hub) gapAlert(t Terminal, cur protocol.ChainHead) *Alert {
	h.parkMu.Lock()
	defer h.parkMu.Unlock()
	p := h.parked[t.ID]
	if p == nil || len(p.events) == 0 || h.now().Sub(p.since) < h.cfg.GapGrace {
		return nil
	}
	seqs := make([]uint64, 0, len(p.events))
	for s := range p.events {
		seqs = append(seqs, s)
	}
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
	return &Alert{Kind: AlertGap, Key: t.ID, Stores: []string{t.Store}, Terminals: []string{t.ID},
		Events: []protocol.EventRef{{Terminal: t.ID, Seq: cur.Seq + 1}},
		Detail: fmt.Sprintf("terminal %s: events %d..%d are missing since %s; %d later events (from %d) wait for them",
			t.ID, cur.Seq+1, seqs[0]-1, p.since.UTC().Format(time.RFC3339), len(seqs), seqs[0])}
}

// refuse records refusals on their own (nothing else in the batch counts).
func (h *Hub) refuse(ctx context.Context, t Terminal, rs []refusal) error {
	return h.update(ctx, func(w *writer) error {
		for _, r := range rs {
			if err := w.refusalAlert(t, r); err != nil {
				return err
			}
		}
		return nil
	})
}

func (w *writer) refusalAlert(t Terminal, r refusal) error {
	kind := AlertForged
	if r.kind == protocol.BreakFork {
		kind = AlertFork
	}
	a := Alert{Kind: kind, Key: t.ID, Stores: []string{t.Store}, Terminals: []string{t.ID},
		Detail: fmt.Sprintf("terminal %s: %s event refused: %s", t.ID, r.kind, r.detail)}
	if r.seq > 0 {
		a.Events = []protocol.EventRef{{Terminal: t.ID, Seq: r.seq}}
	}
	return w.raise(a)
}
