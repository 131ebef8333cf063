package sqlite_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hexiao/hexiao/protocol"
	"github.com/hexiao/hexiao/terminal"
	"github.com/hexiao/hexiao/terminal/internal/termtest"
	"github.com/hexiao/hexiao/terminal/sqlite"
)

func reopen(t *testing.T, dir string) (*sqlite.Store, error) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), dir, nil)
	if err == nil {
		t.Cleanup(func() { st.Close() })
	}
	return st, err
}

// redeemSome journals a few decisions of each kind and returns the store's
// directory.
func redeemSome(t *testing.T) (*sqlite.Store, string) {
	t.Helper()
	ctx := context.Background()
	camp := termtest.Campaign("c1")
	camp.Uses = 10
	st, dir := termtest.Open(t, termtest.Snapshot{Campaigns: []protocol.Campaign{camp},
		Codes: []protocol.CodeState{termtest.SecretCode(1, "c1", 10), termtest.SecretCode(2, "c1", 10)}})
	clock := &termtest.Clock{T: termtest.Now}
	eng := terminal.New(st, nil, clock.Now, terminal.Config{}, nil)
	s1, _ := termtest.Secret(1)
	s2, _ := termtest.Secret(2)
	for _, in := range []terminal.Input{{Text: s1, Uses: 3}, {Text: "CARD77777777"}, {Text: s2}, {Text: "x"}} {
		eng.Commit(ctx, in)
		clock.Add(time.Minute)
	}
	if _, err := eng.Void(ctx, terminal.VoidRequest{Seq: 1, Uses: 1, Manager: "m-1", Note: "wrong item"}); err != nil {
		t.Fatalf("void: %v", err)
	}
	if st.Head().Seq != 5 {
		t.Fatalf("head %d after 5 decisions", st.Head().Seq)
	}
	return st, dir
}

func TestChainVerifiesAcrossRestarts(t *testing.T) {
	ctx := context.Background()
	st, dir := redeemSome(t)
	pub := st.PublicKey()
	st.Close()
	for round := 0; round < 2; round++ {
		st, err := reopen(t, dir)
		if err != nil {
			t.Fatalf("reopen %d: %v", round, err)
		}
		eng := terminal.New(st, nil, func() time.Time { return termtest.Now.Add(time.Hour) }, terminal.Config{}, nil)
		s2, _ := termtest.Secret(2)
		if d := eng.Commit(ctx, terminal.Input{Text: s2}); d.Reason != protocol.Accepted {
			t.Fatalf("round %d: %s", round, d.Reason)
		}
		evs, err := st.Events(ctx, 1, 100)
		if err != nil {
			t.Fatal(err)
		}
		head, got, err := protocol.VerifyChain(protocol.ChainHead{Terminal: termtest.Terminal, Store: termtest.Store}, pub, evs)
		if err != nil {
			t.Fatalf("round %d: chain: %v", round, err)
		}
		if head != st.Head() || len(got) != 6+round {
			t.Errorf("round %d: verified to %d (%d events), store head %d", round, head.Seq, len(got), st.Head().Seq)
		}
		st.Close()
	}
}

// tamper runs SQL on the database behind the store's back, with the
// append-only triggers dropped: what a damaged disk or an attacker does.
func tamper(t *testing.T, dir string, stmts ...string) {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, sqlite.DBFile))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range append([]string{"DROP TRIGGER journal_no_update", "DROP TRIGGER journal_no_delete"}, stmts...) {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

func TestDamagedJournalIsRefused(t *testing.T) {
	tests := []struct {
		name  string
		stmts []string
		seq   uint64
		want  string
	}{
		{"edited body", []string{`UPDATE journal SET body = replace(body, '"uses":3', '"uses":1') WHERE seq = 1`}, 1, "does not match its hash"},
		{"edited body and hash", []string{`UPDATE journal SET body = replace(body, '"uses":3', '"uses":1'), hash = sha3(1) WHERE seq = 1`}, 1, "hash"},
		{"truncated", []string{`DELETE FROM journal WHERE seq = 5`}, 4, "truncated"},
		{"hole", []string{`DELETE FROM journal WHERE seq = 3`}, 3, "missing"},
		{"reordered", []string{`UPDATE journal SET seq = 9 WHERE seq = 2`, `UPDATE journal SET seq = 2 WHERE seq = 3`, `UPDATE journal SET seq = 3 WHERE seq = 9`}, 2, "says event"},
		{"forged tail", []string{`UPDATE journal SET sig = zeroblob(64) WHERE seq = 5`}, 5, "not signed"},
		{"void column cleared", []string{`UPDATE journal SET voids = NULL WHERE seq = 5`}, 5, "columns do not match"},
		{"outbox row dropped", []string{`DELETE FROM outbox WHERE seq = 1`}, 1, "outbox"},
		{"outbox hole", []string{`DELETE FROM outbox WHERE seq = 3`}, 1, "outbox"},
		{"outbox emptied", []string{`DELETE FROM outbox`}, 1, "outbox"},
		{"stale pending", []string{`INSERT INTO pending (seq, body) VALUES (3, '{}')`}, 3, "pending"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, dir := redeemSome(t)
			st.Close()
			stmts := tt.stmts
			if tt.name == "edited body and hash" {
				// SQLite has no sha256: recompute the hash in Go.
				stmts = nil
				db, _ := sql.Open("sqlite3", "file:"+filepath.Join(dir, sqlite.DBFile))
				var body []byte
				db.QueryRow("SELECT body FROM journal WHERE seq = 1").Scan(&body)
				db.Close()
				body = bytes.Replace(body, []byte(`"uses":3`), []byte(`"uses":1`), 1)
				h := (protocol.SignedEvent{Body: body}).Hash()
				tamper(t, dir)
				db, _ = sql.Open("sqlite3", "file:"+filepath.Join(dir, sqlite.DBFile))
				// Body, hash and the copied column all edited alike: only the
				// chain link from event 2 gives it away.
				if _, err := db.Exec("UPDATE journal SET body = ?, hash = ?, uses = 1 WHERE seq = 1", body, h[:]); err != nil {
					t.Fatal(err)
				}
				db.Close()
				tt.want, tt.seq = "does not chain", 2
			} else {
				tamper(t, dir, stmts...)
			}
			_, err := reopen(t, dir)
			var ce *sqlite.CorruptError
			if !errors.As(err, &ce) || ce.Seq != tt.seq || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Open = %v, want a CorruptError at %d saying %q", err, tt.seq, tt.want)
			}
			// Never repaired: the same error the second time.
			if _, err2 := reopen(t, dir); err2 == nil || err2.Error() != err.Error() {
				t.Errorf("second Open = %v, want the same refusal", err2)
			}
		})
	}
}

func TestJournalIsAppendOnly(t *testing.T) {
	_, dir := redeemSome(t)
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, sqlite.DBFile))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{"UPDATE journal SET uses = 0", "DELETE FROM journal"} {
		if _, err := db.Exec(q); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v, want the append-only refusal", q, err)
		}
	}
}

func TestImportIsAllOrNothing(t *testing.T) {
	ctx := context.Background()
	st, _ := redeemSome(t)
	good := termtest.Snapshot{Campaigns: []protocol.Campaign{termtest.Campaign("c2")},
		Codes: []protocol.CodeState{termtest.SecretCode(3, "c2", 1), termtest.SecretCode(4, "c2", 1), termtest.SecretCode(5, "c2", 1)}}
	file := good.File(t, 1)
	lines := bytes.SplitAfter(file, []byte("\n"))
	dup := good
	dup.Codes = append(dup.Codes, termtest.SecretCode(3, "c2", 1))
	dupSecret := good
	other := termtest.SecretCode(3, "c2", 1)
	other.ID = "S99999999999"
	dupSecret.Codes = append(dupSecret.Codes, other)
	tests := map[string][]byte{
		"no last page":     bytes.Join(lines[:2], nil),
		"page skipped":     append(append([]byte{}, lines[0]...), lines[2]...),
		"garbage line":     append(append(append([]byte{}, lines[0]...), []byte("{not json\n")...), lines[1]...),
		"after last":       append(append([]byte{}, file...), lines[0]...),
		"duplicate code":   dup.File(t, 0),
		"duplicate secret": dupSecret.File(t, 0),
		"wrong version":    bytes.Replace(file, []byte(`"v":1`), []byte(`"v":7`), 1),
		"empty":            nil,
	}
	for name, f := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := st.Import(ctx, bytes.NewReader(f)); err == nil {
				t.Fatal("Import accepted a bad file")
			}
			if _, err := st.Campaign(ctx, "c1"); err != nil {
				t.Errorf("the old cache is gone after a failed import: %v", err)
			}
			if _, err := st.CodeByID(ctx, "S00000000003"); !errors.Is(err, terminal.ErrNotFound) {
				t.Errorf("a failed import left code S00000000003 behind: %v", err)
			}
		})
	}
	stats, err := st.Import(ctx, bytes.NewReader(file))
	if err != nil || stats.Codes != 3 || stats.Pages != 3 {
		t.Fatalf("good import: %+v, %v", stats, err)
	}
}

// TestImportKeepsLocalUses: a snapshot the hub made before it heard of this
// terminal's redemptions must not give their uses back.
func TestImportKeepsLocalUses(t *testing.T) {
	ctx := context.Background()
	st, _ := redeemSome(t) // secret 1: 3 used, 1 voided; secret 2: 1 used
	camp := termtest.Campaign("c1")
	camp.Uses = 10
	if _, err := st.Import(ctx, bytes.NewReader(termtest.Snapshot{Campaigns: []protocol.Campaign{camp},
		Codes: []protocol.CodeState{termtest.SecretCode(1, "c1", 10), termtest.SecretCode(2, "c1", 10)}}.File(t, 0))); err != nil {
		t.Fatal(err)
	}
	for n, want := range map[int]int{1: 8, 2: 9} {
		_, id := termtest.Secret(n)
		c, err := st.CodeByID(ctx, id)
		if err != nil || c.UsesLeft != want {
			t.Errorf("code %s uses_left %d (%v), want %d", id, c.UsesLeft, err, want)
		}
	}
}

// TestNoSecretInTheClear scans every file of the data directory for the
// plain text of a card secret and a dynamic seed.
func TestNoSecretInTheClear(t *testing.T) {
	ctx := context.Background()
	st, dir := termtest.Open(t, termtest.Snapshot{Campaigns: []protocol.Campaign{termtest.Campaign("c1")},
		Codes: []protocol.CodeState{termtest.SecretCode(1, "c1", 1), termtest.DynamicCode("D1", "c1", 1)}})
	eng := terminal.New(st, nil, func() time.Time { return termtest.Now }, terminal.Config{}, nil)
	secret, _ := termtest.Secret(1)
	eng.Commit(ctx, terminal.Input{Text: secret})
	c, err := st.CodeByID(ctx, "D1")
	if err != nil || !bytes.Equal(c.Seed, termtest.Seed) {
		t.Fatalf("dynamic code seed does not open: %v", err)
	}
	st.Close()
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(secret)) || bytes.Contains(b, termtest.Seed) {
			t.Errorf("%s holds a secret in the clear", e.Name())
		}
		if st, _ := os.Stat(filepath.Join(dir, e.Name())); strings.HasSuffix(e.Name(), ".key") && st.Mode().Perm() != 0o600 {
			t.Errorf("%s is mode %o, want 0600", e.Name(), st.Mode().Perm())
		}
	}
}

func TestOpenRefusesLooseKeyFile(t *testing.T) {
	st, dir := termtest.Open(t, termtest.Snapshot{})
	st.Close()
	if err := os.Chmod(filepath.Join(dir, sqlite.KeyFile), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := reopen(t, dir); err == nil || !strings.Contains(err.Error(), "make it 0600") {
		t.Errorf("Open with a world-readable key = %v", err)
	}
	if _, err := sqlite.Open(context.Background(), t.TempDir(), nil); !errors.Is(err, sqlite.ErrNotSetUp) {
		t.Errorf("Open of an empty directory = %v, want ErrNotSetUp", err)
	}
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

// TestDurableSettings: WAL and synchronous=FULL on the connection that
// writes, so a commit is on disk (not only in the OS cache) when Append
// returns — what a power cut needs.
func TestDurableSettings(t *testing.T) {
	st, _ := termtest.Open(t, termtest.Snapshot{})
	for name, want := range map[string]string{"journal_mode": "wal", "synchronous": "2", "foreign_keys": "1"} {
		got, err := st.WriterPragma(context.Background(), name)
		if err != nil || got != want {
			t.Errorf("PRAGMA %s = %q, %v; want %q", name, got, err, want)
		}
	}
}

// TestConcurrentAppends: the store serialises callers that race for the
// next seq; every append lands once and the chain verifies.
func TestConcurrentAppends(t *testing.T) {
	ctx := context.Background()
	st, _ := termtest.Open(t, termtest.Snapshot{})
	const n = 20
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() {
			_, err := st.Append(ctx, protocol.Event{Terminal: termtest.Terminal, Kind: protocol.KindAttempt, At: termtest.Now,
				Store: termtest.Store, Mode: protocol.ModeOffline, Reason: protocol.Malformed}, nil)
			errs <- err
		}()
	}
	for i := 0; i < n; i++ {
		if err := <-errs; err != nil {
			t.Errorf("append: %v", err)
		}
	}
	evs, _ := st.Events(ctx, 1, 100)
	if _, got, err := protocol.VerifyChain(protocol.ChainHead{Terminal: termtest.Terminal, Store: termtest.Store}, st.PublicKey(), evs); err != nil || len(got) != n {
		t.Errorf("chain of %d concurrent appends: %d verified, %v", n, len(got), err)
	}
}

// FuzzImport feeds arbitrary snapshot files to Import: it must never
// panic, and a refused file must leave the cache as it was.
func FuzzImport(f *testing.F) {
	good := termtest.Snapshot{Campaigns: []protocol.Campaign{termtest.Campaign("c2")},
		Codes: []protocol.CodeState{termtest.SecretCode(3, "c2", 1), termtest.DynamicCode("D9", "c2", 2)}}
	f.Add(good.File(f, 1))
	f.Add([]byte("{\"v\":1,\"snapshot\":\"s\",\"as_of\":1,\"page\":0,\"last\":true}\n"))
	f.Add([]byte("\n\n{\"v\":1}\n"))
	st, _ := termtest.Open(f, termtest.Snapshot{Campaigns: []protocol.Campaign{termtest.Campaign("c1")},
		Codes: []protocol.CodeState{termtest.SecretCode(1, "c1", 1)}})
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, file []byte) {
		before, _ := st.FeedCursor(ctx)
		_, campErr := st.Campaign(ctx, "c1")
		if _, err := st.Import(ctx, bytes.NewReader(file)); err != nil {
			after, _ := st.FeedCursor(ctx)
			_, campErr2 := st.Campaign(ctx, "c1")
			if after != before || (campErr == nil) != (campErr2 == nil) {
				t.Fatalf("a refused import changed the cache: cursor %d → %d, campaign c1 %v → %v", before, after, campErr, campErr2)
			}
		}
	})
}

// TestOneProcessPerDirectory: a second Open of a directory in use is
// refused, and allowed again once the first closes.
func TestOneProcessPerDirectory(t *testing.T) {
	st, dir := termtest.Open(t, termtest.Snapshot{})
	if _, err := reopen(t, dir); err == nil || !strings.Contains(err.Error(), "in use by another hexiao-terminal") {
		t.Fatalf("second Open = %v, want the in-use refusal", err)
	}
	st.Close()
	if _, err := reopen(t, dir); err != nil {
		t.Errorf("Open after Close: %v", err)
	}
}

func TestAcknowledge(t *testing.T) {
	ctx := context.Background()
	st, dir := redeemSome(t) // 5 events, secret 1 (3 uses) and 2 (1 use) offline
	if n, _ := st.OfflineExposure("c1"); n != 2 {
		t.Fatalf("exposure %d before ack, want 2", n)
	}
	evs, err := st.Events(ctx, 3, 1)
	if err != nil || len(evs) != 1 {
		t.Fatal(evs, err)
	}
	if err := st.Acknowledge(ctx, 3, evs[0].Hash()); err != nil {
		t.Fatal(err)
	}
	if d, _ := st.OutboxDepth(ctx); d != 2 {
		t.Errorf("outbox %d after ack 3, want 2", d)
	}
	if n, _ := st.OfflineExposure("c1"); n != 0 {
		t.Errorf("exposure %d after ack 3, want 0 (both redemptions acknowledged)", n)
	}
	if err := st.Acknowledge(ctx, 2, protocol.Hash{}); err != nil {
		t.Errorf("an older watermark: %v", err)
	}
	if err := st.Acknowledge(ctx, 9, protocol.Hash{1}); err == nil {
		t.Error("acknowledged beyond the journal")
	}
	if err := st.Acknowledge(ctx, 4, evs[0].Hash()); !errors.Is(err, sqlite.ErrAckMismatch) {
		t.Errorf("ack of 4 with the hash of 3: %v, want ErrAckMismatch", err)
	}
	if d, _ := st.OutboxDepth(ctx); d != 2 {
		t.Errorf("outbox %d after a mismatched ack, want 2", d)
	}
	st.Close()
	if _, err := reopen(t, dir); err != nil {
		t.Errorf("reopen after acks: %v", err)
	}
}

// TestImportKeepsLocalOnlyCodes: a signed code first seen here and
// redeemed offline stays used up after a snapshot that does not list it.
func TestImportKeepsLocalOnlyCodes(t *testing.T) {
	ctx := context.Background()
	snap := termtest.Snapshot{Campaigns: []protocol.Campaign{termtest.Campaign("c1")}}
	st, _ := termtest.Open(t, snap)
	eng := terminal.New(st, nil, func() time.Time { return termtest.Now }, terminal.Config{}, nil)
	code := termtest.Signed(t, "CLOCAL1", "c1", 1)
	if d := eng.Commit(ctx, terminal.Input{Text: code}); d.Reason != protocol.Accepted {
		t.Fatal(d.Reason)
	}
	if _, err := st.Import(ctx, bytes.NewReader(snap.File(t, 0))); err != nil {
		t.Fatal(err)
	}
	if d := eng.Commit(ctx, terminal.Input{Text: code}); d.Reason != protocol.UsedUp {
		t.Errorf("the same signed code after an import: %s, want used_up", d.Reason)
	}
}

// TestImportAckedAndAge: a snapshot made for this terminal re-applies only
// events after its acked watermark, and one older than the cache is refused.
func TestImportAckedAndAge(t *testing.T) {
	ctx := context.Background()
	st, _ := redeemSome(t) // seq 1: 3 uses of secret 1; seq 3: 1 use of secret 2; seq 5: void of 1 use of seq 1
	camp := termtest.Campaign("c1")
	camp.Uses = 10
	c1, c2 := termtest.SecretCode(1, "c1", 10), termtest.SecretCode(2, "c1", 10)
	c1.UsesLeft = 7 // the hub counted seq 1 (and knows nothing of 3 and 5)
	file := func(asOf, acked uint64, term string) []byte {
		p := protocol.SnapshotPage{Terminal: term, Snapshot: "s", AsOf: asOf, Acked: acked, Last: true,
			Campaigns: []protocol.Campaign{camp}, Codes: []protocol.CodeState{c1, c2}}
		b, err := protocol.Encode(&p)
		if err != nil {
			t.Fatal(err)
		}
		return append(b, '\n')
	}
	if _, err := st.Import(ctx, bytes.NewReader(file(10, 2, termtest.Terminal))); err != nil {
		t.Fatal(err)
	}
	for n, want := range map[int]int{1: 8, 2: 9} {
		_, id := termtest.Secret(n)
		if c, _ := st.CodeByID(ctx, id); c.UsesLeft != want {
			t.Errorf("code %s: %d uses left, want %d", id, c.UsesLeft, want)
		}
	}
	if _, err := st.Import(ctx, bytes.NewReader(file(9, 0, ""))); err == nil || !strings.Contains(err.Error(), "older than the cache") {
		t.Errorf("older snapshot: %v", err)
	}
	if _, err := st.Import(ctx, bytes.NewReader(file(11, 0, "T-OTHER"))); err == nil || !strings.Contains(err.Error(), "made for terminal T-OTHER") {
		t.Errorf("another terminal's snapshot: %v", err)
	}
}

func TestAppendRefusedWhilePending(t *testing.T) {
	ctx := context.Background()
	st, _ := termtest.Open(t, termtest.Snapshot{})
	ev := protocol.Event{Terminal: termtest.Terminal, Kind: protocol.KindAttempt, At: termtest.Now,
		Store: termtest.Store, Mode: protocol.ModeOffline, Reason: protocol.Malformed}
	if _, err := st.Pend(ctx, terminal.Pending{Claim: ev}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Append(ctx, ev, nil); err == nil || !strings.Contains(err.Error(), "pending") {
		t.Errorf("Append while a decision is pending: %v", err)
	}
	ev.Seq = 1
	if _, err := st.Append(ctx, ev, nil); err != nil {
		t.Errorf("Append finishing the pending decision: %v", err)
	}
}
