package mqttlink_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/hexiao/hexiao/hub"
	"github.com/hexiao/hexiao/hub/broker"
	"github.com/hexiao/hexiao/hub/internal/hubtest"
	"github.com/hexiao/hexiao/hub/mqttlink"
	"github.com/hexiao/hexiao/protocol"
)

// realEnv is the whole hub path: a real hub on SQLite, the embedded broker
// checking logins against it, and the link; terminals are paho clients.
type realEnv struct {
	f     *hubtest.Fixture
	addr  string
	terms []*hubtest.Term
	codes []string
}

func newRealEnv(b testing.TB, nTerm, nCodes int) *realEnv {
	f := hubtest.New(b, hub.Config{})
	f.Store("sh-001", "east")
	f.Campaign("multi", protocol.MaxUses, nil)
	e := &realEnv{f: f}
	for n := 0; n < nCodes; n += min(hub.MaxImport, nCodes-n) {
		e.codes = append(e.codes, f.Import("multi", min(hub.MaxImport, nCodes-n))...)
	}
	for i := range nTerm {
		e.terms = append(e.terms, f.Terminal(fmt.Sprintf("T-%03d", i), "sh-001"))
	}
	br, err := broker.New(broker.Config{Addr: "127.0.0.1:0", Directory: f.Hub})
	if err != nil {
		b.Fatal(err)
	}
	if err := br.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { br.Close() })
	l, err := mqttlink.New(mqttlink.Config{Ledger: f.Hub, Transport: mqttlink.Embedded(br), OnRevoked: br.Disconnect})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	b.Cleanup(func() { cancel(); <-done })
	<-l.Subscribed()
	e.addr = br.Addr().String()
	return e
}

// dial connects t's paho client and delivers every message on its ack
// and claim reply topics to got.
func (e *realEnv) dial(b testing.TB, t *hubtest.Term, got chan<- []byte) paho.Client {
	o := paho.NewClientOptions().AddBroker("tcp://" + e.addr).SetClientID(t.ID).SetUsername(t.ID).
		SetPassword(string(t.Password)).SetCleanSession(true).SetAutoReconnect(false).SetConnectTimeout(10 * time.Second)
	c := paho.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		b.Fatalf("connect %s: %v", t.ID, tok.Error())
	}
	b.Cleanup(func() { c.Disconnect(0) })
	for _, k := range []protocol.TopicKind{protocol.TopicAck, protocol.TopicClaimReply} {
		tok := c.Subscribe(protocol.TerminalTopic(t.ID, k), 1, func(_ paho.Client, m paho.Message) { got <- m.Payload() })
		if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			b.Fatalf("subscribe: %v", tok.Error())
		}
	}
	return c
}

// BenchmarkIngestBroker measures ingest through the real path: terminals
// publish 500-event batches to the embedded broker, the link hands them to
// the hub, the hub verifies and commits, and the ack comes back. events/s
// is counted from the first publish to the last ack.
// Terminals draining at once share commits (group commit): the
// sub-benchmarks show it with 4 and with 16 terminals.
//
// codes=1M is the production shape: each event's code is on its own page of
// a ledger of 1,000,000 random code ids (-short skips its set-up, which
// imports them).
func BenchmarkIngestBroker(b *testing.B) {
	for _, c := range []struct{ terms, codes int }{{4, 5000}, {16, 5000}, {16, 1_000_000}} {
		name := fmt.Sprintf("terminals=%d/codes=%d", c.terms, c.codes)
		if c.codes == 1_000_000 {
			name = fmt.Sprintf("terminals=%d/codes=1M", c.terms)
		}
		b.Run(name, func(b *testing.B) {
			if c.codes > 100_000 && testing.Short() {
				b.Skip("-short: no 1,000,000-code set-up")
			}
			benchIngestBroker(b, c.terms, c.codes)
		})
	}
}

func benchIngestBroker(b *testing.B, nTerm, nCodes int) {
	const perBatch = 500
	e := newRealEnv(b, nTerm, nCodes)
	batches := make([][][]byte, nTerm)
	for i := range b.N {
		k := i % nTerm
		t := e.terms[k]
		var evs []protocol.SignedEvent
		for j := range perBatch {
			evs = append(evs, t.Redemption(e.codes[(i*perBatch+j)%len(e.codes)], "multi", protocol.FormatSecret, 1, protocol.ModeOffline))
		}
		payload, err := protocol.Encode(t.Batch(evs...))
		if err != nil {
			b.Fatal(err)
		}
		batches[k] = append(batches[k], payload)
	}
	commits0 := e.f.Hub.Stats().IngestCommits.Load()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for k, t := range e.terms {
		if len(batches[k]) == 0 {
			continue
		}
		got := make(chan []byte, 1024)
		c := e.dial(b, t, got)
		want := t.Seq()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, p := range batches[k] {
				c.Publish(protocol.TerminalTopic(t.ID, protocol.TopicEvents), 1, false, p)
			}
			for {
				select {
				case p := <-got:
					var ack protocol.Ack
					if err := protocol.Decode(p, &ack); err != nil {
						b.Errorf("ack: %v", err)
						return
					}
					if ack.Refused != nil {
						b.Errorf("refused: %+v", ack.Refused)
						return
					}
					if ack.Seq == want {
						return
					}
				case <-time.After(30 * time.Second):
					b.Errorf("%s: no ack up to %d", t.ID, want)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N*perBatch)/time.Since(start).Seconds(), "events/s")
	b.ReportMetric(float64(b.N)/float64(e.f.Hub.Stats().IngestCommits.Load()-commits0), "batches/commit")
}

// BenchmarkClaimBroker measures an online claim's round trip through the
// broker (publish claim → hub decides and commits → reply arrives), one at a
// time as a counter makes them, with the settling event sent after each.
func BenchmarkClaimBroker(b *testing.B) {
	e := newRealEnv(b, 1, 5000)
	t := e.terms[0]
	got := make(chan []byte, 64)
	c := e.dial(b, t, got)
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		code := e.codes[i%len(e.codes)]
		req := t.Claim(code, "multi", protocol.FormatSecret, 1)
		payload, _ := protocol.Encode(req)
		start := time.Now()
		c.Publish(protocol.TerminalTopic(t.ID, protocol.TopicClaim), 1, false, payload)
		var reply protocol.ClaimReply
		for reply.Seq != req.Seq {
			select {
			case p := <-got:
				if protocol.Decode(p, &reply) != nil {
					reply = protocol.ClaimReply{} // an ack of the last event
				}
			case <-time.After(10 * time.Second):
				b.Fatalf("claim %d: no reply", i)
			}
		}
		lat = append(lat, time.Since(start))
		if reply.Reason != protocol.Accepted {
			b.Fatalf("claim %d: %s", i, reply.Reason)
		}
		b.StopTimer()
		ev, _ := protocol.Encode(t.Batch(t.Redemption(code, "multi", protocol.FormatSecret, 1, protocol.ModeOnline)))
		c.Publish(protocol.TerminalTopic(t.ID, protocol.TopicEvents), 1, false, ev)
		b.StartTimer()
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[(len(lat)-1)*99/100].Microseconds()), "p99-µs")
}
