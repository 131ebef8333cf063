package sqlite

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/hexiao/hexiao/hub"
	"github.com/hexiao/hexiao/protocol"
)

func hubUse() protocol.Use {
	return protocol.Use{Store: "S-1", Terminal: "T-1", At: time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)}
}

const batch = 500

// BenchmarkUpdate500Events is the ingest path's store work: one Update per
// batch of 500 events as the hub does it: the batch's claims in one
// lookup; for each event a code lookup and AddUses; the events and their
// changes in one InsertEvents and one AddChanges; then the commit (fsync,
// synchronous=FULL).
// ns/event is wall time, cpu-ns/event the process's CPU time.
func BenchmarkUpdate500Events(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "hub.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	const ncodes = 10_000
	err = s.Update(ctx, func(tx hub.Tx) error {
		codes := make([]hub.Code, ncodes)
		for i := range codes {
			codes[i] = hub.Code{ID: fmt.Sprintf("HX-%08d", i), Campaign: "CAMP-1", Format: protocol.FormatSigned,
				Uses: 1 << 30, Status: protocol.StatusActive, Stores: []string{"S-1", "S-2"}, Issued: time.Now()}
		}
		return tx.InsertCodes(codes)
	})
	if err != nil {
		b.Fatal(err)
	}
	// One batch of events as a terminal sends them; each iteration gives
	// them new seqs (the store keeps the body bytes and never reads them).
	base := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	sig := bytes.Repeat([]byte{0x5a}, 64)
	evs := make([]hub.Event, batch)
	for i := range evs {
		e := protocol.Event{V: protocol.WireVersion, Terminal: "T-1", Seq: uint64(i + 1), Kind: protocol.KindRedemption,
			At: base.Add(time.Duration(i) * time.Second), Store: "S-1", Cashier: "c-1", Mode: protocol.ModeOffline,
			Entry: protocol.EntryScanned, Reason: protocol.Accepted, Format: protocol.FormatSigned, Campaign: "CAMP-1",
			Uses: 1, Amount: 2500, OrderRef: "POS-1"}
		e.Prev = sha256.Sum256([]byte{byte(i)})
		body, _ := json.Marshal(e)
		evs[i] = hub.Event{Event: e, Body: body, Sig: sig, Hash: sha256.Sum256(body), Received: base.Add(time.Hour)}
	}
	var seq uint64
	cpu0 := cpuTime()
	b.ResetTimer()
	for b.Loop() {
		for i := range evs {
			seq++
			evs[i].Seq, evs[i].Code = seq, fmt.Sprintf("HX-%08d", seq%ncodes)
		}
		err := s.Update(ctx, func(tx hub.Tx) error {
			claims, err := tx.Claims("T-1", evs[0].Seq, evs[len(evs)-1].Seq)
			if err != nil || len(claims) > 0 {
				return fmt.Errorf("claims: %v, %v", claims, err)
			}
			changes := make([]hub.Change, 0, len(evs))
			for _, e := range evs {
				if _, err := tx.Code(e.Code); err != nil {
					return err
				}
				u := protocol.Use{Store: e.Store, Terminal: e.Terminal, At: e.At}
				c, err := tx.AddUses(e.Code, e.Uses, &u, 0)
				if err != nil {
					return err
				}
				st := protocol.CodeState{ID: c.ID, Campaign: c.Campaign, Format: c.Format, Uses: c.Uses,
					UsesLeft: c.UsesLeft(), Status: c.Status, Stores: c.Stores, LastUsed: c.LastUse.At}
				changes = append(changes, hub.Change{Change: protocol.Change{Kind: protocol.ChangeCodeRedeemed, At: e.Received,
					Code: &st}, Audience: hub.Audience{Stores: c.Stores}})
			}
			if err := tx.InsertEvents(evs...); err != nil {
				return err
			}
			_, err = tx.AddChanges(changes...)
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	cpu := cpuTime() - cpu0
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*batch), "cpu-ns/event")
	ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N*batch)
	b.ReportMetric(ns, "ns/event")
	b.ReportMetric(1e9/ns, "events/s")
}

// cpuTime is the CPU time this process has used, user and system: a
// figure other processes on the machine disturb less than the wall clock.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
