package hub

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// APITokenPrefix starts every managed API token's secret, so a leaked one
// is recognised (secret scanners, logs) and told from DATA/admin.token.
const APITokenPrefix = "hxt_"

// maxTokenName bounds an API token's name, in characters.
const maxTokenName = 100

// ParseAPIToken reports whether s has the shape of a managed API token's
// secret: APITokenPrefix and 43 base64url characters.
func ParseAPIToken(s string) bool {
	rest, ok := strings.CutPrefix(s, APITokenPrefix)
	return ok && ValidToken(rest)
}

// NewAPIToken is what CreateToken makes a token of.
type NewAPIToken struct {
	Name      string
	Role      Role
	Store     string // RoleStoreManager only, and required there
	CreatedBy string
}

// CreateToken makes an API token and returns its secret, which is never
// shown again (only its SHA-256 is kept), and the token.
func (a *Accounts) CreateToken(ctx context.Context, nt NewAPIToken) (string, APIToken, error) {
	name := strings.TrimSpace(nt.Name)
	if name == "" || !utf8.ValidString(name) || utf8.RuneCountInString(name) > maxTokenName ||
		strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "", APIToken{}, invalid("name: 1 to %d characters, no control characters", maxTokenName)
	}
	if err := a.checkRole("token "+name, nt.Role, nt.Store); err != nil {
		return "", APIToken{}, err
	}
	var id [6]byte
	if _, err := io.ReadFull(a.rand, id[:]); err != nil {
		return "", APIToken{}, fmt.Errorf("create token: %w", err)
	}
	tok, err := newToken(a.rand)
	if err != nil {
		return "", APIToken{}, fmt.Errorf("create token: %w", err)
	}
	secret := APITokenPrefix + tok
	t := APIToken{ID: "tok-" + hex.EncodeToString(id[:]), Name: name, Hash: tokenHash(secret), Role: nt.Role,
		Store: nt.Store, Created: a.now().UTC(), CreatedBy: nt.CreatedBy}
	err = a.h.store.Update(ctx, func(tx Tx) error {
		if _, err := tx.APIToken(t.ID); err == nil {
			return ErrExists
		}
		return tx.PutAPIToken(t)
	})
	if err != nil {
		return "", APIToken{}, fmt.Errorf("create token %s: %w", name, err)
	}
	return secret, t, nil
}

// Tokens returns every API token, revoked ones too, oldest first.
func (a *Accounts) Tokens(ctx context.Context) ([]APIToken, error) {
	var ts []APIToken
	err := a.h.store.View(ctx, func(r Reader) error {
		var err error
		ts, err = r.APITokens()
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	return ts, nil
}

// RevokeToken revokes an API token at once; revoking it again changes
// nothing.
func (a *Accounts) RevokeToken(ctx context.Context, id string) (APIToken, error) {
	var t APIToken
	err := a.h.store.Update(ctx, func(tx Tx) error {
		var err error
		if t, err = tx.APIToken(id); errors.Is(err, ErrNotFound) {
			return notFound("no API token %q", id)
		} else if err != nil {
			return err
		}
		if !t.Revoked.IsZero() {
			return nil
		}
		t.Revoked = a.now().UTC()
		return tx.PutAPIToken(t)
	})
	if err != nil {
		return APIToken{}, fmt.Errorf("revoke token %s: %w", id, err)
	}
	return t, nil
}

// ErrBadToken is a bearer token that is not a live API token.
var ErrBadToken = errors.New("unknown or revoked API token")

// Token returns the live API token whose secret is secret, and notes the
// use (at most once a minute). A secret of the wrong shape, unknown or
// revoked is ErrBadToken.
func (a *Accounts) Token(ctx context.Context, secret string) (APIToken, error) {
	if !ParseAPIToken(secret) {
		return APIToken{}, ErrBadToken
	}
	hash := tokenHash(secret)
	var t APIToken
	err := a.h.store.View(ctx, func(r Reader) error {
		var err error
		t, err = r.APITokenByHash(hash)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return APIToken{}, ErrBadToken
	}
	if err != nil {
		return APIToken{}, fmt.Errorf("api token: %w", err)
	}
	if !t.Revoked.IsZero() {
		return APIToken{}, ErrBadToken
	}
	now := a.now().UTC()
	if now.Sub(t.LastUsed) >= touchEvery {
		err := a.h.store.Update(ctx, func(tx Tx) error {
			cur, err := tx.APIToken(t.ID)
			if err != nil {
				return err
			}
			if !cur.Revoked.IsZero() {
				return ErrBadToken
			}
			cur.LastUsed = now
			t = cur
			return tx.PutAPIToken(cur)
		})
		if errors.Is(err, ErrBadToken) {
			return APIToken{}, ErrBadToken
		}
		if err != nil {
			return APIToken{}, fmt.Errorf("api token: %w", err)
		}
	}
	return t, nil
}
