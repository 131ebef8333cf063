package web

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/hexiao/hexiao/hub"
)

// The live stream: server-sent events for the dashboard.

const (
	// sseBuffer is how many notices a stream may fall behind before the
	// hub drops notices for it (the hub never waits for a reader).
	sseBuffer = 256
	// heartbeat is how often an idle stream sends a comment, so proxies
	// keep it open and a dead client is noticed.
	heartbeat = 15 * time.Second
	// recheck is how often a stream checks that its credential still
	// stands: a revoked token, a session signed out or expired, a user
	// disabled or given another role or store ends it within this.
	recheck = 5 * time.Second
)

// stream sends what the hub commits as server-sent events:
//
//	event: redemption   data: a hub.Redemption (redemptions and voids)
//	event: alert        data: a hub.Alert (raised, extended or acknowledged)
//	event: presence     data: a hub.TerminalInfo (a terminal's presence or standing changed)
//	event: reset        data: {"missed":N} (events were lost: read the lists again)
//
// Each event has an id: line counting up from 1 on this connection (there
// is no replay: Last-Event-ID is ignored; a client that reconnects reads
// the lists again). A client that falls sseBuffer notices behind loses the
// newer ones (the hub never waits for a reader); the stream then sends
// reset, with the number of commits whose events were lost, as soon as it
// catches up, and goes on. A comment line is sent every 15 s. The stream
// ends when the client goes away or the server is closed.
func (s *Server) stream(w http.ResponseWriter, r *http.Request) {
	if !s.startStream() {
		s.fail(w, r, http.StatusServiceUnavailable, "unavailable", "the hub is shutting down; reconnect to another instance or later")
		return
	}
	defer s.streams.Done()
	p := principal(r) // a store manager's stream: their store's events, alerts and terminals
	sub := s.hub.Watch(sseBuffer)
	defer sub.Stop()
	s.sseClients.Add(1)
	defer s.sseClients.Add(-1)

	rc := http.NewResponseController(w)
	defer rc.SetWriteDeadline(time.Time{}) // stallWriter's deadline must not outlive this request
	bw := bufio.NewWriter(stallWriter{w, rc})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	bw.WriteString("retry: 3000\n: connected\n\n")

	beat := s.heartbeat
	if beat <= 0 {
		beat = heartbeat
	}
	tick := time.NewTicker(beat)
	defer tick.Stop()
	every := s.recheck
	if every <= 0 {
		every = recheck
	}
	check := time.NewTicker(every)
	defer check.Stop()
	var id uint64
	send := func(event string, v any) {
		b, err := json.Marshal(v)
		if err != nil {
			s.log.Error("stream: encode event", "event", event, "err", err)
			return
		}
		id++
		bw.WriteString("event: " + event + "\nid: " + strconv.FormatUint(id, 10) + "\ndata: ")
		bw.Write(b)
		bw.WriteString("\n\n")
	}
	for {
		// Notices dropped while this stream was writing are newer than
		// those still queued: say so before going on. The client reads
		// the lists again; what is queued may then come twice.
		if n := sub.Missed(); n > 0 {
			s.log.Warn("stream: client fell behind, notices dropped", "missed", n)
			send("reset", resetEvent{Missed: n})
		}
		if err := bw.Flush(); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-s.ctx.Done():
			return
		case <-tick.C:
			bw.WriteString(": heartbeat\n\n")
		case <-check.C:
			if !s.stillStands(r, p) {
				s.log.Info("stream: its credential no longer stands; ended", "who", p.Name)
				return
			}
		case n, ok := <-sub.C():
			if !ok {
				return
			}
			for _, e := range n.Events {
				if p.Sees(e.Store) {
					send("redemption", hub.RedemptionOf(e))
				}
			}
			for _, a := range n.Alerts {
				if seesAlert(p, a) {
					send("alert", alertView(a))
				}
			}
			if n.Terminal != nil && p.Sees(n.Terminal.Store) {
				send("presence", hub.InfoOf(*n.Terminal))
			}
		}
	}
}

// seesAlert reports whether p may see a: HQ roles every alert, a store
// manager those naming their store.
func seesAlert(p Principal, a hub.Alert) bool {
	if p.SeesAll() {
		return true
	}
	for _, st := range a.Stores {
		if p.Sees(st) {
			return true
		}
	}
	return false
}

// resetEvent is the data of event: reset.
type resetEvent struct {
	// Missed counts the hub's commits this stream lost: each may have
	// held several events, or none the stream shows.
	Missed int64 `json:"missed"`
}
