package ecr

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// TestFaultyLinkBurst runs a burst of COMMITs from a Register through a
// fault-injecting relay to a Server, over two real pty pairs, and checks
// exactly-once execution against the fake terminal's journal:
//
//   - every COMMIT reaches the handler exactly once;
//   - every reply the register accepted matches the journal;
//   - a COMMIT whose outcome the register did not learn is settled by
//     LAST_RESULT, which always agrees with the journal: not found means
//     not executed (the register may then send it again), found means
//     executed once with the journaled outcome.
//
// The relay drops, corrupts, stalls, duplicates and pads frames, drops
// ACKs and turns them into NAKs, in both directions, from a seeded
// schedule; twice in every 25 transactions it also blacks out one direction
// for the whole COMMIT, so retransmissions run out both before and after the
// terminal executed it.
func TestFaultyLinkBurst(t *testing.T) {
	// 100 commits is about as few as still draws every kind of fault.
	n := 300
	if testing.Short() {
		n = 100
	}
	for _, tc := range []struct {
		check Checksum
		n     int
		seed  uint64
	}{
		{CRC16, n, 20260101},
		{LRC, 100, 7},
	} {
		t.Run(tc.check.String(), func(t *testing.T) { burst(t, tc.check, tc.n, tc.seed) })
	}
}

func burst(t *testing.T, check Checksum, n int, seed uint64) {
	cfg := Config{
		Checksum:     check,
		Baud:         115200,
		InterByte:    30 * time.Millisecond,
		AckTimeout:   60 * time.Millisecond,
		ReplyTimeout: 150 * time.Millisecond,
	}
	rl := &relay{rate: 0.1, stall: 3 * cfg.InterByte, seed: seed}
	l := newLink(t, cfg, rl)
	ctx := context.Background()

	var accepted, unknownDone, unknownAbsent, resent int
	lastResult := func(key string) Reply {
		t.Helper()
		for range 20 { // LAST_RESULT only reads: asking again is always safe
			r, err := l.reg.Do(ctx, Request{Command: CmdLastResult, IdemKey: key})
			if err == nil {
				return r
			}
			if !errors.Is(err, ErrOutcomeUnknown) {
				t.Fatalf("LAST_RESULT %s: %v", key, err)
			}
		}
		t.Fatalf("LAST_RESULT %s: no answer in 20 tries", key)
		return Reply{}
	}
	for i := range n {
		key := fmt.Sprintf("K%04d", i)
		code := "HX1:GOOD"
		if i%7 == 3 {
			code = "USED-1"
		}
		req := Request{Command: CmdCommit, Code: code, IdemKey: key, OrderRef: fmt.Sprintf("A-%d", 1000+i), Cashier: "c1"}
		blackout := -1
		switch i % 25 {
		case 4:
			blackout = toServer // the COMMIT never arrives
		case 17:
			blackout = toRegister // it arrives and runs; no word gets back
		}
		for try := 0; ; try++ {
			if try == 10 {
				t.Fatalf("%s: no definite outcome after 10 tries", key)
			}
			if blackout >= 0 && try == 0 {
				rl.setBlackout(blackout, true)
			}
			rep, err := l.reg.Do(ctx, req)
			if blackout >= 0 && try == 0 {
				rl.setBlackout(blackout, false)
			}
			if err == nil {
				if rep.Result != ResultOK {
					t.Fatalf("%s: result %s (%s)", key, rep.Result, rep.Message)
				}
				want, ok := l.term.entry(key)
				if !ok {
					t.Fatalf("%s: the register accepted %+v, but the journal has no such commit", key, rep)
				}
				if err := sameDecision(rep, want); err != nil {
					t.Fatalf("%s: accepted reply does not match the journal:\n%v", key, err)
				}
				accepted++
				break
			}
			if !errors.Is(err, ErrOutcomeUnknown) {
				t.Fatalf("%s: %v", key, err)
			}
			lr := lastResult(key)
			want, inJournal := l.term.entry(key)
			switch lr.Result {
			case ResultOK:
				if !inJournal {
					t.Fatalf("%s: LAST_RESULT says done (%+v), the journal has nothing", key, lr)
				}
				if err := sameDecision(lr, want); err != nil {
					t.Fatalf("%s: LAST_RESULT does not match the journal:\n%v", key, err)
				}
				unknownDone++
			case ResultNotFound:
				if inJournal {
					t.Fatalf("%s: LAST_RESULT says not found, the journal has %+v", key, want)
				}
				unknownAbsent++
				resent++
				continue // not executed: sending it again is safe
			default:
				t.Fatalf("%s: LAST_RESULT: %+v", key, lr)
			}
			break
		}
	}
	for i := range n {
		key := fmt.Sprintf("K%04d", i)
		if c := l.term.callsFor(key); c != 1 {
			t.Errorf("%s reached the handler %d times, want exactly 1", key, c)
		}
	}
	faults := rl.faults()
	t.Logf("%d commits: %d answered, %d unknown then found done, %d unknown then not found (sent again); faults %v",
		n, accepted, unknownDone, unknownAbsent, faults)
	// The test is worth something only if the faults and both unknown
	// paths happened.
	for _, k := range []faultKind{faultDropFrame, faultChecksum, faultDropByte, faultStall, faultDuplicate, faultGarbage, faultDropAck, faultAckToNak, faultBlackout} {
		if faults[k] == 0 {
			t.Errorf("fault %s never injected", k)
		}
	}
	if unknownDone == 0 || unknownAbsent == 0 {
		t.Errorf("unknown outcomes: %d found done, %d not found; want both paths taken", unknownDone, unknownAbsent)
	}
}
