package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hexiao/hexiao/protocol"
	"github.com/hexiao/hexiao/terminal"
	"github.com/hexiao/hexiao/terminal/internal/termtest"
	"github.com/hexiao/hexiao/terminal/sqlite"
)

// benchCodes is how many card secrets the benchmark cache holds.
const benchCodes = 1_000_000

// writeBenchSnapshot streams a snapshot of n card secrets of campaign c1
// into w.
func writeBenchSnapshot(b *testing.B, w io.Writer, n int) {
	camp := termtest.Campaign("c1")
	camp.ValidFrom, camp.ValidUntil = time.Now().AddDate(-1, 0, 0), time.Now().AddDate(1, 0, 0)
	page := protocol.SnapshotPage{Snapshot: "bench", AsOf: 1,
		Stores:    []protocol.Store{{ID: termtest.Store, Name: "bench", Region: termtest.Region, Timezone: "Asia/Shanghai"}},
		Campaigns: []protocol.Campaign{camp}, Keys: []protocol.IssuingKey{termtest.Key.IssuingKey}}
	hasher, _ := protocol.NewSecretHasher(termtest.Pepper)
	codes := make([]protocol.CodeState, 0, protocol.MaxSnapshotCodes)
	hashes := make([]protocol.SecretHash, protocol.MaxSnapshotCodes)
	for next, pageNo := 0, 0; ; pageNo++ {
		codes = codes[:0]
		for len(codes) < protocol.MaxSnapshotCodes && next < n {
			text, id := termtest.Secret(next)
			hashes[len(codes)] = hasher.Hash(text)
			codes = append(codes, protocol.CodeState{ID: id, Campaign: "c1", Format: protocol.FormatSecret,
				SecretHash: &hashes[len(codes)], Uses: 1, UsesLeft: 1, Status: protocol.StatusActive})
			next++
		}
		page.Page, page.Codes, page.Last = pageNo, codes, next >= n
		page.Resume = ""
		if !page.Last {
			page.Resume = "p" + strconv.Itoa(pageNo+1)
		}
		buf, err := protocol.Encode(&page)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := w.Write(append(buf, '\n')); err != nil {
			b.Fatal(err)
		}
		if page.Last {
			return
		}
		page.Stores, page.Campaigns, page.Keys = nil, nil, nil
	}
}

// newBenchTerminal sets up a terminal and imports n codes; it returns the
// directory and how long the import took.
func newBenchTerminal(b *testing.B, dir string, n int) (*sqlite.Store, time.Duration) {
	ctx := context.Background()
	if err := sqlite.Init(ctx, dir, sqlite.Setup{Terminal: termtest.Terminal, Store: termtest.Store, Pepper: termtest.Pepper}); err != nil {
		b.Fatal(err)
	}
	st, err := sqlite.Open(ctx, dir, nil)
	if err != nil {
		b.Fatal(err)
	}
	pr, pw := io.Pipe()
	go func() {
		writeBenchSnapshot(b, pw, n)
		pw.Close()
	}()
	start := time.Now()
	stats, err := st.Import(ctx, pr)
	took := time.Since(start)
	if err != nil || stats.Codes != n {
		b.Fatalf("import: %+v, %v", stats, err)
	}
	return st, took
}

// signedSeq numbers the signed codes benchmarks redeem, so no run reuses
// one.
var signedSeq int

var (
	bigOnce  sync.Once
	bigStore *sqlite.Store
	bigDir   string
)

// bigTerminal is one terminal with benchCodes codes, shared by the scan
// benchmarks of a run.
func bigTerminal(b *testing.B) *sqlite.Store {
	skipShort(b)
	bigOnce.Do(func() {
		var err error
		bigDir, err = os.MkdirTemp("", "hexiao-bench-")
		if err != nil {
			b.Fatal(err)
		}
		bigStore, _ = newBenchTerminal(b, bigDir, benchCodes)
	})
	return bigStore
}

// BenchmarkImport1M imports 1,000,000 card secrets from a snapshot stream
// into a new terminal and reports the database size and the process RSS
// after it.
func BenchmarkImport1M(b *testing.B) {
	skipShort(b)
	for b.Loop() {
		dir := b.TempDir()
		st, took := newBenchTerminal(b, dir, benchCodes)
		b.ReportMetric(took.Seconds(), "import-s")
		b.ReportMetric(float64(dirSize(b, dir))/(1<<20), "db-MiB")
		b.ReportMetric(rssMiB(b), "rss-MiB")
		st.Close()
	}
}

func dirSize(b *testing.B, dir string) int64 {
	var n int64
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if fi, err := os.Stat(filepath.Join(dir, e.Name())); err == nil {
			n += fi.Size()
		}
	}
	return n
}

func rssMiB(b *testing.B) float64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range strings.Split(string(raw), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// latencies times each call of op and reports the median and p99. prep,
// when not nil, runs before each op, off the clock.
func latencies(b *testing.B, prep, op func(i int)) {
	lat := make([]time.Duration, 0, 1024)
	i := 0
	for b.Loop() {
		if prep != nil {
			b.StopTimer()
			prep(i)
			b.StartTimer()
		}
		start := time.Now()
		op(i)
		lat = append(lat, time.Since(start))
		i++
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkScan1M is scan to durable verdict on a terminal caching
// 1,000,000 codes: Commit of a card secret and of a signed code (each a
// new code, decided offline, journaled with an fsync), beside the baseline
// of one primary-key lookup plus one fsync'd single-row commit on the same
// SQLite file.
func BenchmarkScan1M(b *testing.B) {
	st := bigTerminal(b)
	ctx := context.Background()
	eng := terminal.New(st, nil, time.Now, terminal.Config{}, nil)
	next := benchCodes / 2 // secrets from the middle of the cache, never reused
	b.Run("baseline", func(b *testing.B) {
		db, err := sql.Open("sqlite3", "file:"+filepath.Join(bigDir, sqlite.DBFile)+"?_journal_mode=WAL&_synchronous=FULL&_busy_timeout=10000&_txlock=immediate")
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		db.SetMaxOpenConns(1)
		if _, err := db.Exec("CREATE TABLE IF NOT EXISTS bench_baseline (id INTEGER PRIMARY KEY, v TEXT)"); err != nil {
			b.Fatal(err)
		}
		sel, _ := db.Prepare("SELECT uses_left FROM codes WHERE id = ?")
		ins, _ := db.Prepare("INSERT INTO bench_baseline (v) VALUES (?)")
		latencies(b, nil, func(i int) {
			_, id := termtest.Secret(i * 7919 % benchCodes)
			var left int
			if err := sel.QueryRow(id).Scan(&left); err != nil {
				b.Fatal(err)
			}
			tx, err := db.Begin()
			if err != nil {
				b.Fatal(err)
			}
			if _, err := tx.Stmt(ins).Exec(id); err != nil {
				b.Fatal(err)
			}
			if err := tx.Commit(); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("secret", func(b *testing.B) {
		latencies(b, nil, func(int) {
			text, _ := termtest.Secret(next)
			next++
			if d := eng.Commit(ctx, terminal.Input{Text: text}); d.Reason != protocol.Accepted {
				b.Fatalf("%s: %s (%s)", text, d.Reason, d.Detail)
			}
		})
	})
	b.Run("signed", func(b *testing.B) {
		var codes []string
		sign := func(int) {
			signedSeq++
			codes = append(codes, termtest.Signed(b, fmt.Sprintf("CB%010d", signedSeq), "c1", 1))
		}
		latencies(b, sign, func(i int) {
			if d := eng.Commit(ctx, terminal.Input{Text: codes[i]}); d.Reason != protocol.Accepted {
				b.Fatalf("%s: %s (%s)", codes[i], d.Reason, d.Detail)
			}
		})
	})
}

// BenchmarkPrepare1M is the read-only part of a scan (parse, verify,
// look-up, rules) on the 1,000,000-code cache.
func BenchmarkPrepare1M(b *testing.B) {
	st := bigTerminal(b)
	eng := terminal.New(st, nil, time.Now, terminal.Config{}, nil)
	ctx := context.Background()
	b.Run("secret", func(b *testing.B) {
		i := 0
		for b.Loop() {
			text, _ := termtest.Secret(i * 7919 % benchCodes)
			i++
			if p, err := eng.Prepare(ctx, terminal.Input{Text: text}); err != nil || p.Reason == "" {
				b.Fatal(p.Reason, err)
			}
		}
	})
	b.Run("signed", func(b *testing.B) {
		code := termtest.Signed(b, "CPREPARE1", "c1", 1)
		for b.Loop() {
			if p, err := eng.Prepare(ctx, terminal.Input{Text: code}); err != nil || p.Reason != protocol.Accepted {
				b.Fatal(p.Reason, err)
			}
		}
	})
}

// skipShort skips the million-code benchmarks in make test's smoke run of
// every benchmark (-short -benchtime 1x).
func skipShort(b *testing.B) {
	if testing.Short() {
		b.Skip("1,000,000-code set-up skipped with -short")
	}
}
