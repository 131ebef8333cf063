package hub

import (
	"context"
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/hexiao/hexiao/protocol"
)

// Issuance limits.
const (
	MaxIssue  = 1_000_000 // codes in one issuance request
	MaxImport = 100_000   // card secrets in one import request
	issueTx   = 5000      // codes per ledger transaction
)

// IssueRequest asks for new signed or dynamic codes of a campaign. Validity
// and scope narrower than the campaign's may be set per issuance.
type IssueRequest struct {
	Count      int             `json:"count"`
	Format     protocol.Format `json:"format"`
	OrderRef   string          `json:"order_ref,omitempty"`
	ValidFrom  time.Time       `json:"valid_from,omitzero"`
	ValidUntil time.Time       `json:"valid_until,omitzero"`
	Stores     []string        `json:"stores,omitempty"`
	Regions    []string        `json:"regions,omitempty"`
}

// IssuedCode is one new code: for a signed code the HX1: text to print or
// send; for a dynamic code its TOTP seed (base32, RFC 6238 with SHA-256,
// 8 digits, 30 s) for the wallet that shows it.
type IssuedCode struct {
	ID   string `json:"id"`
	Code string `json:"code,omitempty"`
	Seed string `json:"seed,omitempty"`
}

var codeIDEnc = base32.StdEncoding.WithPadding(base32.NoPadding)

// newCodeID returns 12 random characters of A–Z and 2–7 (60 bits).
func (h *Hub) newCodeID() (string, error) {
	var b [8]byte
	if _, err := io.ReadFull(h.rand, b[:]); err != nil {
		return "", fmt.Errorf("code id: %w", err)
	}
	return codeIDEnc.EncodeToString(b[:])[:12], nil
}

// Issue makes req.Count codes of campaign, committing them in transactions
// of a few thousand, and calls fn with each one once it is durably issued.
// An error from fn stops the issuance; codes already passed to fn stay
// issued. Dynamic codes reach the terminals in scope through the feed;
// signed codes carry themselves and are not sent.
func (h *Hub) Issue(ctx context.Context, campaign string, req IssueRequest, fn func(IssuedCode) error) error {
	camp, ok := h.campaign(campaign)
	if !ok {
		return notFound("no campaign %q", campaign)
	}
	switch {
	case req.Count < 1 || req.Count > MaxIssue:
		return invalid("count: %d, want 1 to %d", req.Count, MaxIssue)
	case req.Format != protocol.FormatSigned && req.Format != protocol.FormatDynamic:
		return invalid("format: %q, want signed or dynamic (card secrets are imported)", req.Format)
	case len(req.OrderRef) > protocol.MaxNoteLen:
		return invalid("order_ref: %d bytes, at most %d", len(req.OrderRef), protocol.MaxNoteLen)
	}
	for _, s := range req.Stores {
		if _, ok := h.storeByID(s); !ok {
			return invalid("stores: unknown store %q", s)
		}
	}
	from, until := req.ValidFrom.UTC().Truncate(time.Second), req.ValidUntil.UTC().Truncate(time.Second)
	if from.IsZero() {
		from = camp.ValidFrom
	}
	if from.IsZero() && req.Format == protocol.FormatSigned {
		from = h.now().UTC().Truncate(time.Second) // a signed code carries its window: valid from its issuance
	}
	if until.IsZero() {
		until = camp.ValidUntil
	}
	if !until.IsZero() && !from.IsZero() && !until.After(from) {
		return invalid("valid_until %s is not after valid_from %s", until.Format(time.RFC3339), from.Format(time.RFC3339))
	}
	var signer *protocol.SigningKey
	if req.Format == protocol.FormatSigned {
		var err error
		if signer, err = h.signingKey(); err != nil {
			return err
		}
		probe := protocol.SignedCode{ID: "PROBE", Campaign: campaign, ValidFrom: from, ValidUntil: until, Uses: camp.Uses,
			Stores: req.Stores, Regions: req.Regions}
		if _, err := signer.Sign(probe, h.now()); err != nil {
			if until.IsZero() {
				return invalid("signed codes need an end of validity: set valid_until on campaign %s or in the request", campaign)
			}
			return invalid("cannot sign codes like these: %v", err)
		}
	}
	for done := 0; done < req.Count; {
		n := min(issueTx, req.Count-done)
		codes, issued, err := h.makeCodes(n, camp, req, from, until, signer)
		if err != nil {
			return err
		}
		err = h.update(ctx, func(w *writer) error {
			if err := w.tx.InsertCodes(codes); err != nil {
				return err
			}
			if req.Format == protocol.FormatDynamic {
				for _, c := range codes {
					if err := w.codeChange(protocol.ChangeCodeIssued, c); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if errors.Is(err, ErrExists) {
			continue // a random id collided: make this chunk again
		}
		if err != nil {
			return fmt.Errorf("issue codes of %s: %w", campaign, err)
		}
		for _, c := range issued {
			if err := fn(c); err != nil {
				return err
			}
		}
		done += n
	}
	return nil
}

// makeCodes makes n codes, signing on every core.
func (h *Hub) makeCodes(n int, camp protocol.Campaign, req IssueRequest, from, until time.Time, signer *protocol.SigningKey) ([]Code, []IssuedCode, error) {
	now := h.now().UTC()
	codes := make([]Code, n)
	issued := make([]IssuedCode, n)
	for i := range codes {
		id, err := h.newCodeID()
		if err != nil {
			return nil, nil, err
		}
		codes[i] = Code{ID: id, Campaign: camp.ID, Format: req.Format, Uses: camp.Uses, Status: protocol.StatusActive,
			ValidFrom: from, ValidUntil: until, Stores: req.Stores, Regions: req.Regions, OrderRef: req.OrderRef, Issued: now}
		issued[i].ID = id
		if req.Format == protocol.FormatDynamic {
			seed := make([]byte, 20)
			if _, err := io.ReadFull(h.rand, seed); err != nil {
				return nil, nil, fmt.Errorf("seed: %w", err)
			}
			codes[i].SealedSeed = h.sec.Seal("seed/"+id, seed)
			issued[i].Seed = codeIDEnc.EncodeToString(seed)
		}
	}
	if signer == nil {
		return codes, issued, nil
	}
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for k := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := k; i < n; i += workers {
				c := &codes[i]
				text, err := signer.Sign(protocol.SignedCode{ID: c.ID, Campaign: c.Campaign, ValidFrom: from, ValidUntil: until,
					Uses: c.Uses, Stores: c.Stores, Regions: c.Regions}, now)
				if err != nil {
					errs[k] = err
					return
				}
				issued[i].Code = text
			}
		}()
	}
	wg.Wait()
	return codes, issued, errors.Join(errs...)
}

// Import registers card secrets bought from a supplier as codes of
// campaign. Each secret is normalised and stored only as its keyed hash;
// the answer is the new code ids in the order given. A secret already
// imported, or given twice, refuses the whole import.
func (h *Hub) Import(ctx context.Context, campaign string, secrets []string, orderRef string) ([]string, error) {
	camp, ok := h.campaign(campaign)
	if !ok {
		return nil, notFound("no campaign %q", campaign)
	}
	switch {
	case len(secrets) == 0 || len(secrets) > MaxImport:
		return nil, invalid("codes: %d card secrets, want 1 to %d", len(secrets), MaxImport)
	case len(orderRef) > protocol.MaxNoteLen:
		return nil, invalid("order_ref: %d bytes, at most %d", len(orderRef), protocol.MaxNoteLen)
	}
	now := h.now().UTC()
	codes := make([]Code, len(secrets))
	seen := make(map[protocol.SecretHash]int, len(secrets))
	for i, s := range secrets {
		norm, err := protocol.NormalizeSecret(s)
		if err != nil {
			return nil, invalid("codes[%d]: %v", i, err)
		}
		hs := h.sec.Hasher().Hash(norm)
		if j, dup := seen[hs]; dup {
			return nil, invalid("codes[%d] is the same card secret as codes[%d]", i, j)
		}
		seen[hs] = i
		id, err := h.newCodeID()
		if err != nil {
			return nil, err
		}
		codes[i] = Code{ID: id, Campaign: campaign, Format: protocol.FormatSecret, SecretHash: &hs, Uses: camp.Uses,
			Status: protocol.StatusActive, OrderRef: orderRef, Issued: now}
	}
	// A new id that happens to be taken (60 random bits: rare) is drawn
	// again, as Issue does; a card secret already imported is a conflict.
	var err error
	for try := 0; try < 3; try++ {
		if try > 0 {
			for i := range codes {
				if codes[i].ID, err = h.newCodeID(); err != nil {
					return nil, err
				}
			}
		}
		err = h.importCodes(ctx, codes)
		if !errors.Is(err, ErrExists) {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("import into %s: %w", campaign, err)
	}
	ids := make([]string, len(codes))
	for i, c := range codes {
		ids[i] = c.ID
	}
	return ids, nil
}

// CodeInfo is a code's standing and history, as the API shows it.
type CodeInfo struct {
	ID          string              `json:"id"`
	Campaign    string              `json:"campaign"`
	Format      protocol.Format     `json:"format"`
	Status      protocol.CodeStatus `json:"status"`
	Uses        int                 `json:"uses"`
	UsesLeft    int                 `json:"uses_left"`
	Used        int                 `json:"used"`
	ValidFrom   time.Time           `json:"valid_from,omitzero"`
	ValidUntil  time.Time           `json:"valid_until,omitzero"`
	Stores      []string            `json:"stores,omitempty"`
	Regions     []string            `json:"regions,omitempty"`
	OrderRef    string              `json:"order_ref,omitempty"`
	Issued      time.Time           `json:"issued"`
	LastUse     *protocol.Use       `json:"last_use,omitempty"`
	Redemptions []Redemption        `json:"redemptions"`
}

// LookupCode finds a code by its id, its HX1: or HXD: text, or a card
// secret, and returns its standing with every redemption and void.
func (h *Hub) LookupCode(ctx context.Context, q string) (CodeInfo, error) {
	q = strings.TrimSpace(q)
	if q == "" || len(q) > protocol.MaxCodeLen {
		return CodeInfo{}, invalid("code: give a code id, an HX1: or HXD: code or a card secret")
	}
	var info CodeInfo
	err := h.store.View(ctx, func(r Reader) error {
		c, err := h.findCode(r, q)
		if err != nil {
			return err
		}
		info, err = h.codeInfo(r, c)
		return err
	})
	return info, err
}

func (h *Hub) findCode(r Reader, q string) (Code, error) {
	if pc, err := protocol.ParseCode(q); err == nil {
		switch pc.Format {
		case protocol.FormatSigned:
			return h.codeByID(r, pc.Signed.ID)
		case protocol.FormatDynamic:
			return h.codeByID(r, pc.Dynamic.ID)
		}
	} else if strings.HasPrefix(strings.ToUpper(q), protocol.SignedPrefix) || strings.HasPrefix(strings.ToUpper(q), protocol.DynamicPrefix) {
		return Code{}, invalid("code: %v", err)
	}
	if id := strings.ToUpper(q); protocol.ValidCodeID(id) == nil {
		c, err := r.Code(id)
		if err == nil || !errors.Is(err, ErrNotFound) {
			return c, err
		}
	}
	if norm, err := protocol.NormalizeSecret(q); err == nil {
		c, err := r.CodeBySecret(h.sec.Hasher().Hash(norm))
		if err == nil || !errors.Is(err, ErrNotFound) {
			return c, err
		}
	}
	return Code{}, notFound("no code matches %s", maskCode(q))
}

func (h *Hub) codeByID(r Reader, id string) (Code, error) {
	c, err := r.Code(id)
	if errors.Is(err, ErrNotFound) {
		return c, notFound("no code %s", id)
	}
	return c, err
}

// maskCode shows enough of a query to recognise it without repeating a
// card secret.
func maskCode(q string) string {
	if len(q) <= 4 {
		return "****"
	}
	return q[:2] + strings.Repeat("*", len(q)-4) + q[len(q)-2:]
}

func (h *Hub) codeInfo(r Reader, c Code) (CodeInfo, error) {
	info := CodeInfo{ID: c.ID, Campaign: c.Campaign, Format: c.Format, Status: c.Status, Uses: c.Uses, UsesLeft: c.UsesLeft(),
		Used: c.Used, ValidFrom: c.ValidFrom, ValidUntil: c.ValidUntil, Stores: c.Stores, Regions: c.Regions,
		OrderRef: c.OrderRef, Issued: c.Issued, Redemptions: []Redemption{}}
	if c.LastUse.Terminal != "" {
		u := c.LastUse
		info.LastUse = &u
	}
	evs, err := r.CodeEvents(c.ID)
	if err != nil {
		return info, err
	}
	for _, e := range evs {
		info.Redemptions = append(info.Redemptions, RedemptionOf(e))
	}
	return info, nil
}

// Revoke ends a code for good; Block suspends it (a suspected leak) and
// Unblock lifts that. Terminals in scope learn it through the feed; the
// reason is logged.
func (h *Hub) Revoke(ctx context.Context, id, reason string) (CodeInfo, error) {
	return h.setStatus(ctx, id, protocol.StatusRevoked, protocol.ChangeCodeRevoked, reason)
}

// Block suspends a code.
func (h *Hub) Block(ctx context.Context, id, reason string) (CodeInfo, error) {
	return h.setStatus(ctx, id, protocol.StatusBlocked, protocol.ChangeCodeBlocked, reason)
}

// Unblock lifts a block.
func (h *Hub) Unblock(ctx context.Context, id, reason string) (CodeInfo, error) {
	return h.setStatus(ctx, id, protocol.StatusActive, protocol.ChangeCodeUnblock, reason)
}

func (h *Hub) setStatus(ctx context.Context, id string, st protocol.CodeStatus, kind protocol.ChangeKind, reason string) (CodeInfo, error) {
	if len(reason) > protocol.MaxNoteLen {
		return CodeInfo{}, invalid("reason: %d bytes, at most %d", len(reason), protocol.MaxNoteLen)
	}
	var info CodeInfo
	err := h.update(ctx, func(w *writer) error {
		c, err := h.codeByID(w.tx, strings.ToUpper(id))
		if err != nil {
			return err
		}
		switch {
		case c.Status == st:
		case c.Status == protocol.StatusRevoked:
			return conflict("code %s is revoked for good", c.ID)
		case st == protocol.StatusActive && c.Status != protocol.StatusBlocked:
			return conflict("code %s is not blocked", c.ID)
		default:
			if c, err = w.tx.SetStatus(c.ID, st); err != nil {
				return err
			}
			if err := w.codeChange(kind, c); err != nil {
				return err
			}
			h.log.Info("code status", "code", c.ID, "status", st, "reason", reason)
		}
		info, err = h.codeInfo(w.tx, c)
		return err
	})
	return info, err
}

// importCodes commits imported card secrets and their feed changes; an id
// already taken is ErrExists.
func (h *Hub) importCodes(ctx context.Context, codes []Code) error {
	return h.update(ctx, func(w *writer) error {
		for i, c := range codes {
			if old, err := w.tx.CodeBySecret(*c.SecretHash); err == nil {
				return conflict("codes[%d] is already imported as code %s", i, old.ID)
			} else if !errors.Is(err, ErrNotFound) {
				return err
			}
		}
		if err := w.tx.InsertCodes(codes); err != nil {
			return err
		}
		for _, c := range codes {
			if err := w.codeChange(protocol.ChangeCodeImported, c); err != nil {
				return err
			}
		}
		return nil
	})
}
