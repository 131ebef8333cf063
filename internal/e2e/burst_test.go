package e2e

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// feed writes each code on its own line to w as fast as the reader takes
// them, in the background; it stops at the first write error (the process
// died).
func feed(w io.Writer, codes []code) {
	go func() {
		bw := bufio.NewWriterSize(w, 64<<10)
		for _, c := range codes {
			if _, err := bw.WriteString(c.Code + "\n"); err != nil {
				return
			}
		}
		bw.Flush()
	}()
}

// tally sums up printed decisions.
type tally struct {
	accepted map[string]answer // by event id
	online   int
	offline  int
	rejected map[string]int // by reason
	lastSeq  uint64         // the highest event seq printed
}

func count(t *testing.T, lines []line) tally {
	t.Helper()
	s := tally{accepted: map[string]answer{}, rejected: map[string]int{}}
	for _, l := range lines {
		d := parseAnswer(t, l)
		if d.Cmd != "" {
			continue
		}
		s.lastSeq = max(s.lastSeq, d.seq())
		if d.Verdict != "accepted" {
			s.rejected[d.Reason]++
			continue
		}
		if _, dup := s.accepted[d.EventID]; dup || d.EventID == "" {
			t.Errorf("accepted decision with event id %q printed twice or without one", d.EventID)
		}
		s.accepted[d.EventID] = d
		if d.Mode == "online" {
			s.online++
		} else {
			s.offline++
		}
	}
	return s
}

// hubRefs checks that the hub's redemption rows name each code at most
// once and returns their event ids.
func hubRefs(t *testing.T, rows []redemption) map[string]bool {
	t.Helper()
	refs, byCode := map[string]bool{}, map[string]string{}
	for _, r := range rows {
		if refs[r.ref()] {
			t.Errorf("hub: event %s listed twice", r.ref())
		}
		refs[r.ref()] = true
		if other, dup := byCode[r.Code]; dup {
			t.Errorf("hub: code %s redeemed by both %s and %s", r.Code, other, r.ref())
		}
		byCode[r.Code] = r.ref()
	}
	return refs
}

// TestKillMidBurst: a terminal is SIGKILLed in the middle of a burst of
// 1,000 scans, restarted on the same directory with empty stdin (it
// resolves the interrupted decision and flushes), and the hub then holds
// exactly the redemptions the cashier was shown, plus at most the one
// committed to the journal whose verdict line the kill cut off — the
// event right after the last line printed.
func TestKillMidBurst(t *testing.T) {
	const n, killAt = 1000, 400
	h := startHub(t, t.TempDir(), "127.0.0.1:0", "127.0.0.1:0")
	h.addStore("S1", "east")
	h.addCampaign("C1", []string{"S1"}, 5000)
	codes := h.issue("C1", n)
	a := enroll(t, h, "S1", "T1")
	firstDay := time.Now().UTC().Format(time.DateOnly) // the store's zone is UTC
	hp := a.start()
	hp.waitMode("online", wait)

	start := time.Now()
	feed(hp.stdin, codes)
	var lines []line
	for len(lines) < killAt {
		lines = append(lines, hp.next(wait))
	}
	took := lines[len(lines)-1].at.Sub(start)
	// A scan takes a few milliseconds (two commits and a claim): a random
	// delay that long lands the kill in any of its phases.
	time.Sleep(rand.N(8 * time.Millisecond))
	hp.cmd.Process.Kill()
	for l := range hp.lines { // what it wrote before dying is still in the pipe
		lines = append(lines, l)
	}
	<-hp.done
	printed := count(t, lines)
	t.Logf("kill burst: %d lines in %s (%.0f scans/s, %d online, %d offline); %d lines printed before the kill",
		killAt, took.Round(time.Millisecond), float64(killAt)/took.Seconds(), printed.online, printed.offline, len(lines))
	if len(printed.rejected) > 0 {
		t.Errorf("fresh single-use codes refused: %v", printed.rejected)
	}

	// Restart on the same directory with nothing to scan: it resolves the
	// decision the kill interrupted, flushes the outbox at EOF and exits.
	again := a.startEmpty()
	if err := again.exited(wait + 10*time.Second); err != nil {
		t.Fatalf("headless after the kill exited with %v", err)
	}
	if !again.logs.Contains("outbox flushed") {
		t.Fatalf("headless after the kill did not flush its outbox:\n%s", again.logs)
	}
	for _, l := range strings.Split(again.logs.String(), "\n") {
		if strings.Contains(l, "interrupted before its verdict") {
			t.Logf("restart: %s", l)
		}
	}

	journal := a.journal(firstDay, time.Now().UTC().Format(time.DateOnly))
	for _, e := range journal {
		if e.seq <= printed.lastSeq {
			continue
		}
		t.Logf("journal after the last printed line (seq %d): %s %s %s %s", printed.lastSeq, e.ref, e.kind, e.mode, e.reason)
		// A decision the kill interrupted is journaled as a refusal; any
		// use the hub's claim took for it comes back.
		if e.kind == "attempt" && e.code != "" {
			if c := h.code(e.code); c.UsesLeft != 1 {
				t.Errorf("code %s of the interrupted decision %s has %d uses left at the hub, want 1 (never served)", e.code, e.ref, c.UsesLeft)
			}
		}
	}
	inJournal := map[string]bool{}
	var unprinted []journalEvent
	for _, e := range journal {
		if e.kind != "redemption" {
			continue
		}
		inJournal[e.ref] = true
		if _, ok := printed.accepted[e.ref]; !ok {
			unprinted = append(unprinted, e)
		}
	}
	for ref := range printed.accepted {
		if !inJournal[ref] {
			t.Errorf("accepted verdict %s was printed but is not a redemption in the journal (durable before green)", ref)
		}
	}
	rows := h.redemptions("terminal=T1&kind=redemption")
	refs := hubRefs(t, rows)
	t.Logf("hub %d redemptions; printed accepted %d; journaled but not printed %d %v",
		len(rows), len(printed.accepted), len(unprinted), unprinted)
	if len(rows) != len(printed.accepted)+len(unprinted) {
		t.Errorf("hub has %d redemptions of T1, want %d printed accepted + %d journaled without a printed line",
			len(rows), len(printed.accepted), len(unprinted))
	}
	switch len(unprinted) {
	case 0:
	case 1:
		if unprinted[0].seq != printed.lastSeq+1 {
			t.Errorf("the unprinted redemption is event %s, want the one right after the last printed (seq %d)",
				unprinted[0].ref, printed.lastSeq+1)
		}
	default:
		t.Errorf("%d journaled redemptions never printed: %v; the kill can cut off at most one verdict line", len(unprinted), unprinted)
	}
	for ref := range refs {
		if _, ok := printed.accepted[ref]; !ok && !slices.ContainsFunc(unprinted, func(e journalEvent) bool { return e.ref == ref }) {
			t.Errorf("hub has redemption %s that was neither printed nor journaled", ref)
		}
	}
}

// cutProxy forwards TCP connections to target and, while cutting, closes
// every one of them every 150–400 ms.
type cutProxy struct {
	ln     net.Listener
	target string

	mu       sync.Mutex // guards conns, accepted, cuts
	conns    map[net.Conn]bool
	accepted int
	cuts     int

	wg sync.WaitGroup
}

func startProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				p.forward(c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		p.cut()
		p.wg.Wait()
	})
	return p
}

func (p *cutProxy) addr() string { return p.ln.Addr().String() }

func (p *cutProxy) forward(c net.Conn) {
	u, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	p.conns[c], p.conns[u] = true, true
	p.accepted++
	p.mu.Unlock()
	done := make(chan struct{})
	go func() {
		io.Copy(u, c)
		u.Close()
		c.Close()
		close(done)
	}()
	io.Copy(c, u)
	c.Close()
	u.Close()
	<-done
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, u)
	p.mu.Unlock()
}

// cut closes every connection now.
func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.conns) > 0 {
		p.cuts++
	}
	for c := range p.conns {
		c.Close()
	}
}

// cutting cuts every 150–400 ms until the returned stop is called.
func (p *cutProxy) cutting() (stop func()) {
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-quit:
				return
			case <-time.After(150*time.Millisecond + rand.N(250*time.Millisecond)):
				p.cut()
			}
		}
	}()
	return func() {
		close(quit)
		<-done
	}
}

func (p *cutProxy) stats() (accepted, cuts int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.accepted, p.cuts
}

// TestFlakyLinkBurst: a burst of scans through a proxy that cuts the
// terminal's MQTT connection every 150–400 ms. Claims that go unanswered
// are decided offline; when the dust settles the hub holds exactly the
// redemptions printed as accepted, each code at most once, and no
// over_redemption (only this terminal scanned these codes).
func TestFlakyLinkBurst(t *testing.T) {
	const n = 800
	h := startHub(t, t.TempDir(), "127.0.0.1:0", "127.0.0.1:0")
	h.addStore("S1", "east")
	h.addCampaign("C1", []string{"S1"}, 5000)
	codes := h.issue("C1", n)
	a := enroll(t, h, "S1", "T1")
	px := startProxy(t, h.mqtt)
	a.setBroker("mqtt://" + px.addr())
	hp := a.start()
	hp.waitMode("online", wait)

	stop := px.cutting()
	start := time.Now()
	feed(hp.stdin, codes)
	var lines []line
	for len(lines) < n {
		lines = append(lines, hp.next(wait))
	}
	took := time.Since(start)
	stop()
	conns, cuts := px.stats()
	lines = append(lines, hp.finish()...)
	printed := count(t, lines)
	t.Logf("flaky burst: %d scans in %s (%.0f scans/s) through %d connections cut %d times; %d accepted online, %d offline, refused %v",
		n, took.Round(time.Millisecond), float64(n)/took.Seconds(), conns, cuts, printed.online, printed.offline, printed.rejected)
	if cuts < 3 {
		t.Errorf("the proxy cut the link %d times during the burst; the test needs several", cuts)
	}

	rows := h.redemptions("kind=redemption")
	refs := hubRefs(t, rows)
	if len(rows) != len(printed.accepted) {
		t.Errorf("hub has %d redemptions, want the %d printed as accepted", len(rows), len(printed.accepted))
	}
	for ref := range printed.accepted {
		if !refs[ref] {
			t.Errorf("accepted %s was printed but the hub lacks it", ref)
		}
	}
	for ref := range refs {
		if _, ok := printed.accepted[ref]; !ok {
			t.Errorf("hub has redemption %s that was never printed as accepted", ref)
		}
	}
	if al := h.alerts("over_redemption"); len(al) != 0 {
		t.Errorf("over_redemption alerts for codes only T1 scanned: %s", fmt.Sprint(al))
	}
}
