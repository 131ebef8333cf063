package web

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Health and metrics: the two public endpoints.

// healthTimeout bounds each readiness check.
const healthTimeout = 3 * time.Second

// health is the body of GET /healthz.
type health struct {
	Status string            `json:"status"` // ok or unavailable
	Checks map[string]string `json:"checks"` // part → ok or what failed
}

// healthz answers 200 when the ledger answers a ping and cfg.Ready passes,
// 503 naming the part that failed otherwise. The detail of a failure is
// logged, not sent: the endpoint needs no token.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
	defer cancel()
	h := health{Status: "ok", Checks: map[string]string{}}
	check := func(part, failed string, fn func(context.Context) error) {
		if err := fn(ctx); err != nil {
			s.log.Warn("health check failed", "part", part, "err", err)
			h.Status, h.Checks[part] = "unavailable", failed
			return
		}
		h.Checks[part] = "ok"
	}
	check("ledger", "the ledger database does not answer", s.hub.Ping)
	if s.ready != nil {
		check("ready", "not ready (see the hub's log)", s.ready)
	}
	status := http.StatusOK
	if h.Status != "ok" {
		status = http.StatusServiceUnavailable
	}
	w.Header().Set("Cache-Control", "no-store")
	s.writeJSON(w, r, status, h)
}

// serveMetrics writes Prometheus text format 0.0.4: the hub's counters,
// the API's own, a few Go runtime figures, then cfg.Metrics's lines.
func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	bw := bufio.NewWriter(w)
	m := promWriter{w: bw}

	st := s.hub.Stats()
	m.counter("hexiao_hub_events_ingested_total", "Terminal events committed to the ledger.", st.Events.Load())
	m.counter("hexiao_hub_events_duplicate_total", "Terminal events received again and ignored.", st.Duplicates.Load())
	m.counter("hexiao_hub_events_parked_total", "Terminal events held for missing predecessors.", st.Parked.Load())
	m.counter("hexiao_hub_events_refused_total", "Terminal events refused (forged, fork).", st.Refused.Load())
	m.counter("hexiao_hub_event_batches_total", "Event batches received from terminals.", st.Batches.Load())
	m.counter("hexiao_hub_ingest_commits_total", "Ledger transactions that committed event batches; a group commit takes several batches.", st.IngestCommits.Load())
	m.header("hexiao_hub_claims_total", "Online claims answered, by result.", "counter")
	m.sample("hexiao_hub_claims_total", []string{"result", "accepted"}, st.ClaimsAccepted.Load())
	m.sample("hexiao_hub_claims_total", []string{"result", "refused"}, st.ClaimsRefused.Load())
	m.counter("hexiao_hub_alerts_total", "Alerts raised, extended or acknowledged.", st.Alerts.Load())
	m.counter("hexiao_hub_feed_pages_total", "Change-feed pages served to terminals.", st.FeedPages.Load())
	m.counter("hexiao_hub_snapshot_pages_total", "Snapshot pages served to terminals.", st.SnapshotPages.Load())
	m.counter("hexiao_hub_notices_dropped_total", "Notices a slow subscriber missed.", st.Dropped.Load())

	m.header("hexiao_web_requests_total", "HTTP requests answered, by route and status.", "counter")
	reqs := s.requests.snapshot()
	keys := make([]requestKey, 0, len(reqs))
	for k := range reqs {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b requestKey) int {
		if c := strings.Compare(a.route, b.route); c != 0 {
			return c
		}
		return a.code - b.code
	})
	for _, k := range keys {
		m.sample("hexiao_web_requests_total", []string{"route", k.route, "code", strconv.Itoa(k.code)}, reqs[k])
	}
	m.gauge("hexiao_web_streams", "Event streams (GET /api/v1/stream) open.", s.sseClients.Load())

	m.gauge("go_goroutines", "Goroutines that currently exist.", int64(runtime.NumGoroutine()))
	samples := []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/total:bytes"},
		{Name: "/gc/cycles/total:gc-cycles"},
	}
	metrics.Read(samples)
	m.gauge("go_memstats_heap_alloc_bytes", "Bytes of allocated heap objects.", uint64Value(samples[0]))
	m.gauge("go_memstats_sys_bytes", "Bytes of memory obtained from the OS.", uint64Value(samples[1]))
	m.counter("go_gc_cycles_total", "Completed GC cycles.", uint64Value(samples[2]))

	if s.metrics != nil {
		s.metrics(bw)
	}
	if err := bw.Flush(); err != nil {
		s.log.Debug("metrics: write", "err", err)
	}
}

func uint64Value(s metrics.Sample) int64 {
	if s.Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return int64(min(s.Value.Uint64(), 1<<63-1))
}

// promWriter writes the Prometheus text exposition format by hand.
type promWriter struct {
	w io.Writer
}

func (p promWriter) header(name, help, typ string) {
	fmt.Fprintf(p.w, "# HELP %s %s\n# TYPE %s %s\n", name, escapeHelp(help), name, typ)
}

func (p promWriter) counter(name, help string, v int64) {
	p.header(name, help, "counter")
	p.sample(name, nil, v)
}

func (p promWriter) gauge(name, help string, v int64) {
	p.header(name, help, "gauge")
	p.sample(name, nil, v)
}

// sample writes one line; labels are name, value pairs.
func (p promWriter) sample(name string, labels []string, v int64) {
	var b strings.Builder
	b.WriteString(name)
	if len(labels) > 0 {
		b.WriteByte('{')
		for i := 0; i+1 < len(labels); i += 2 {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(labels[i])
			b.WriteString(`="`)
			b.WriteString(escapeLabel(labels[i+1]))
			b.WriteByte('"')
		}
		b.WriteByte('}')
	}
	b.WriteByte(' ')
	b.WriteString(strconv.FormatInt(v, 10))
	b.WriteByte('\n')
	io.WriteString(p.w, b.String())
}

// escapeHelp escapes a HELP text: backslash and line feed.
func escapeHelp(s string) string {
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`).Replace(s)
}

// escapeLabel escapes a label value: backslash, double quote and line feed.
func escapeLabel(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}
