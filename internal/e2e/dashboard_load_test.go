package e2e

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestDashboardUnderLoad opens the overview of a 500-store chain in
// Chromium while five headless terminals redeem 50 codes a second through
// the real hub, and checks that the page counts every one of them without
// a reload. It logs what the page cost (seen with -v; nothing asserts on
// them): the first render of 500 stores, the main thread's long tasks and
// frame gaps while the stream runs, and the JavaScript heap. -short runs 4
// seconds of load instead of 20. It makes the README's overview
// screenshot (HEXIAO_SCREENSHOTS).
func TestDashboardUnderLoad(t *testing.T) {
	const (
		stores    = 500
		terminals = 5
		rate      = 50 // redemptions a second, all terminals together
	)
	secs := 20
	if testing.Short() {
		secs = 4
	}
	total := rate * secs
	h := startHub(t, t.TempDir(), "127.0.0.1:0", "127.0.0.1:0")
	for i := range stores {
		h.addStore(fmt.Sprintf("S%03d", i), fmt.Sprintf("r%d", i%20))
	}
	var codes []code
	for c := range 5 {
		id := fmt.Sprintf("C%d", c)
		h.addCampaign(id, nil, 1000)
		codes = append(codes, h.issue(id, total/5)...)
	}
	h.addUser("hq", "admin", "")
	var hl []*headless
	for i := range terminals {
		tm := enroll(t, h, fmt.Sprintf("S%03d", i), fmt.Sprintf("T%d", i))
		x := tm.start()
		x.waitMode("online", wait)
		hl = append(hl, x)
	}

	b := startBrowser(t)
	b.signIn(h, "hq", "/overview")
	b.waitVisible(`[data-test=store-row][data-store=S499]`)
	// Opened again, signed in: from the request to 500 rows drawn.
	start := time.Now()
	b.open("http://" + h.http + "/overview")
	b.waitVisible(`[data-test=store-row][data-store=S499]`)
	firstRender := time.Since(start)
	if n := b.count(`[data-test=store-row]`); n != stores {
		t.Fatalf("the overview lists %d stores, want %d", n, stores)
	}
	b.noReload()
	// Long tasks and frame gaps, measured in the page while the load runs.
	b.eval(`(() => {
		window.__load = {longTasks: 0, longMS: 0, gaps: []};
		new PerformanceObserver((l) => { for (const e of l.getEntries()) { __load.longTasks++; __load.longMS += e.duration; } })
			.observe({type: 'longtask', buffered: false});
		let last = performance.now();
		const frame = (now) => { __load.gaps.push(now - last); last = now; if (!__load.stop) requestAnimationFrame(frame); };
		requestAnimationFrame(frame);
	})()`, nil)

	// Each terminal scans its share of the codes at rate/terminals a second.
	per := total / terminals
	sent := time.Now()
	for i, x := range hl {
		go func(w io.Writer, mine []code) {
			tick := time.NewTicker(time.Second * terminals / rate)
			defer tick.Stop()
			for _, c := range mine {
				<-tick.C
				if _, err := io.WriteString(w, c.Code+"\n"); err != nil {
					return
				}
			}
		}(x.stdin, codes[i*per:(i+1)*per])
	}
	accepted := 0
	for _, x := range hl {
		for range per {
			a := parseAnswer(t, x.next(wait))
			if a.Verdict != "accepted" {
				t.Fatalf("%s: %+v, want accepted", x.name, a)
			}
			accepted++
		}
	}
	sendTook := time.Since(sent)
	// When the hub has ingested every event (terminals sync their outbox
	// after the claim) and when the page shows them all.
	var shown string
	var hubAt, pageAt time.Duration
	deadline := time.Now().Add(2 * wait)
	for (hubAt == 0 || pageAt == 0) && time.Now().Before(deadline) {
		if hubAt == 0 {
			var o struct {
				Totals struct {
					Redemptions int `json:"redemptions"`
				} `json:"totals"`
			}
			h.call("GET", "/api/v1/overview", nil, &o)
			if o.Totals.Redemptions == accepted {
				hubAt = time.Since(sent) - sendTook
			}
		}
		if pageAt == 0 {
			shown = strings.ReplaceAll(b.text(`[data-test=kpi-redemptions] .value`), ",", "")
			if shown == fmt.Sprint(accepted) {
				pageAt = time.Since(sent) - sendTook
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	if shown != fmt.Sprint(accepted) {
		t.Fatalf("the overview counts %s redemptions, want %d", shown, accepted)
	}
	b.sameDocument("the overview under load")
	b.shot("dashboard-overview")
	var m struct {
		LongTasks int       `json:"longTasks"`
		LongMS    float64   `json:"longMS"`
		Gaps      []float64 `json:"gaps"`
		Heap      float64   `json:"heap"`
	}
	b.eval(`(() => { __load.stop = true; __load.heap = performance.memory ? performance.memory.usedJSHeapSize : 0; return __load; })()`, &m)
	sort.Float64s(m.Gaps)
	pct := func(p float64) float64 {
		if len(m.Gaps) == 0 {
			return 0
		}
		return m.Gaps[min(len(m.Gaps)-1, int(p*float64(len(m.Gaps))))]
	}
	t.Logf("overview of %d stores: %s from opening the page to its 500 rows drawn", stores, firstRender.Round(time.Millisecond))
	t.Logf("%d redemptions at %d/s over %s (sent in %s): the hub had ingested them all %s after the last answer, the page showed them %s after; long tasks %d (%.0f ms in all); "+
		"frame gap p50 %.1f ms, p99 %.1f ms, max %.1f ms over %d frames; JS heap %.1f MiB",
		accepted, rate, time.Duration(secs)*time.Second, sendTook.Round(time.Millisecond), hubAt.Round(time.Millisecond), pageAt.Round(time.Millisecond),
		m.LongTasks, m.LongMS, pct(0.5), pct(0.99), pct(1), len(m.Gaps), m.Heap/(1<<20))
	for _, x := range hl {
		x.finish()
	}
}
