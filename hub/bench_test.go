package hub_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hexiao/hexiao/hub"
	"github.com/hexiao/hexiao/hub/internal/hubtest"
	"github.com/hexiao/hexiao/protocol"
)

// benchChain is a chain with nTerm terminals and a large multi-use
// campaign whose codes the benchmarks redeem.
func benchChain(b *testing.B, nTerm, nCodes int) (*hubtest.Fixture, []*hubtest.Term, []string) {
	f := hubtest.New(b, hub.Config{})
	f.Store("sh-001", "east")
	f.Campaign("multi", protocol.MaxUses, nil)
	var codes []string
	for len(codes) < nCodes {
		n := min(hub.MaxImport, nCodes-len(codes))
		secrets := make([]string, n)
		for i := range secrets {
			secrets[i] = hubtest.Secret("multi", len(codes)+i)
		}
		ids, err := f.Hub.Import(ctx, "multi", secrets, "bench")
		if err != nil {
			b.Fatal(err)
		}
		codes = append(codes, ids...)
	}
	terms := make([]*hubtest.Term, nTerm)
	for i := range terms {
		terms[i] = f.Terminal(fmt.Sprintf("T-%03d", i), "sh-001")
	}
	return f, terms, codes
}

// BenchmarkIngest measures the ledger side of ingest: batches of 500
// offline redemptions, verified and committed, called directly (the broker
// path is BenchmarkIngestBroker in hub/mqttlink).
func BenchmarkIngest(b *testing.B) {
	const batch = 500
	_, terms, codes := benchChain(b, 4, 10000)
	batches := make([][]protocol.SignedEvent, b.N)
	for i := range batches {
		t := terms[i%len(terms)]
		for k := range batch {
			batches[i] = append(batches[i], t.Redemption(codes[(i*batch+k)%len(codes)], "multi", protocol.FormatSecret, 1, protocol.ModeOffline))
		}
	}
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		t := terms[i%len(terms)]
		if ack := t.Ingest(batches[i]...); ack.Refused != nil {
			b.Fatalf("refused: %+v", ack.Refused)
		}
	}
	b.ReportMetric(float64(b.N*batch)/time.Since(start).Seconds(), "events/s")
}

// BenchmarkClaim measures one online claim and the terminal's event that
// settles it, sequentially, with latency percentiles of the claim.
func BenchmarkClaim(b *testing.B) {
	f, terms, codes := benchChain(b, 1, 10000)
	t := terms[0]
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		code := codes[i%len(codes)]
		req := t.Claim(code, "multi", protocol.FormatSecret, 1)
		start := time.Now()
		r, err := f.Hub.Claim(ctx, t.ID, req)
		lat = append(lat, time.Since(start))
		if err != nil || r.Reason != protocol.Accepted {
			b.Fatalf("claim %d: %+v %v", i, r, err)
		}
		b.StopTimer()
		t.Ingest(t.Redemption(code, "multi", protocol.FormatSecret, 1, protocol.ModeOnline))
		b.StartTimer()
	}
	reportPercentiles(b, lat)
}

func reportPercentiles(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	p := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))].Microseconds()) }
	b.ReportMetric(p(0.50), "p50-µs")
	b.ReportMetric(p(0.99), "p99-µs")
}

// BenchmarkFeedPage measures serving full feed pages (1,000 changes) to a
// terminal catching up.
func BenchmarkFeedPage(b *testing.B) {
	f, terms, _ := benchChain(b, 1, 20000)
	t := terms[0]
	b.ResetTimer()
	changes := 0
	start := time.Now()
	var after uint64
	for range b.N {
		p, err := f.Hub.Feed(ctx, t.ID, &protocol.FeedRequest{Terminal: t.ID, After: after})
		if err != nil || p.Problem != nil {
			b.Fatalf("feed: %v %+v", err, p.Problem)
		}
		changes += len(p.Changes)
		after = p.Next
		if !p.More {
			after = 0
		}
	}
	b.ReportMetric(float64(changes)/time.Since(start).Seconds(), "changes/s")
}

// BenchmarkIssue1M issues 1,000,000 signed codes (10,000 with -short).
func BenchmarkIssue1M(b *testing.B) {
	n := 1_000_000
	if testing.Short() {
		n = 10_000
	}
	for range b.N {
		b.StopTimer()
		f := hubtest.New(b, hub.Config{})
		f.Campaign("video", 1, nil)
		b.StartTimer()
		start := time.Now()
		got := 0
		err := f.Hub.Issue(ctx, "video", hub.IssueRequest{Count: n, Format: protocol.FormatSigned}, func(hub.IssuedCode) error {
			got++
			return nil
		})
		if err != nil || got != n {
			b.Fatalf("issued %d: %v", got, err)
		}
		b.ReportMetric(float64(n)/time.Since(start).Seconds(), "codes/s")
	}
}
