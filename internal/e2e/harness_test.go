package e2e

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// bins are the programs under test, built once by TestMain.
var bins struct{ hub, terminal string }

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	flag.Parse()
	dir, err := os.MkdirTemp("", "hexiao-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	// No -race: the binaries are the subjects, and an uninstrumented build
	// keeps the bursts as fast as a counter would see them.
	cmd := exec.Command("go", "build", "-o", dir+string(filepath.Separator),
		"github.com/hexiao/hexiao/hub/cmd/hexiao-hub", "github.com/hexiao/hexiao/terminal/cmd/hexiao-terminal")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: build the binaries:", err)
		return 1
	}
	if testing.Verbose() {
		fmt.Fprintf(os.Stderr, "e2e: built hexiao-hub and hexiao-terminal in %s\n", time.Since(start).Round(time.Millisecond))
	}
	bins.hub, bins.terminal = filepath.Join(dir, "hexiao-hub"), filepath.Join(dir, "hexiao-terminal")
	return m.Run()
}

// wait bounds every wait for something that should happen in a moment
// (a process start, an answer, a flush).
const wait = 30 * time.Second

// eventually polls cond every 20 ms until it holds or d passes, then fails
// the test with what cond last said.
func eventually(t *testing.T, d time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s; last: %s", what, d, state)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// logTail keeps the last part of a process's output for the failure
// report. It is an io.Writer safe for concurrent use.
type logTail struct {
	mu  sync.Mutex
	buf []byte
}

const tailMax = 64 << 10

func (l *logTail) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	if len(l.buf) > 2*tailMax {
		l.buf = append([]byte(nil), l.buf[len(l.buf)-tailMax:]...)
	}
	return len(p), nil
}

func (l *logTail) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buf
	if len(b) > tailMax {
		b = b[len(b)-tailMax:]
	}
	return string(b)
}

// Contains reports whether the kept output has s.
func (l *logTail) Contains(s string) bool { return strings.Contains(l.String(), s) }

// line is one line a process wrote on stdout and when the test read it.
type line struct {
	text string
	at   time.Time
}

// proc is a started program: stdout read line by line into lines (closed
// at EOF), stderr kept in logs. Cleanup kills it if it still runs and
// prints its output when the test failed.
type proc struct {
	t     *testing.T
	name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser // nil when started with empty stdin
	lines chan line
	logs  *logTail
	echo  bool          // stdout goes to logs too (a log on stdout)
	done  chan struct{} // closed once the process exited and its output is read
	err   error         // the exit, once done
}

// startProc starts bin. With pipeIn the test writes its stdin; otherwise
// stdin is empty (/dev/null).
func startProc(t *testing.T, name, bin string, pipeIn bool, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, name: name, cmd: exec.Command(bin, args...), lines: make(chan line, 8192),
		logs: &logTail{}, done: make(chan struct{}), echo: filepath.Base(bin) != filepath.Base(bins.terminal)}
	if dir := os.Getenv("HEXIAO_E2E_LOGS"); dir != "" {
		// Keep every process's whole stderr, for debugging.
		f, err := os.CreateTemp(dir, strings.ReplaceAll(t.Name()+"-"+name, "/", "_")+"-*.log")
		if err == nil {
			t.Cleanup(func() { f.Close() })
			p.cmd.Stderr = io.MultiWriter(p.logs, f)
		}
	}
	if p.cmd.Stderr == nil {
		p.cmd.Stderr = p.logs
	}
	if pipeIn {
		w, err := p.cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		p.stdin = w
	}
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			if p.echo {
				fmt.Fprintf(p.logs, "%s\n", sc.Text())
			}
			p.lines <- line{text: sc.Text(), at: time.Now()}
		}
		io.Copy(io.Discard, out)
		close(p.lines)
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("%s output (tail):\n%s", name, p.logs)
		}
	})
	return p
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// next returns the next stdout line, failing the test if none comes
// within d or the process ended.
func (p *proc) next(d time.Duration) line {
	p.t.Helper()
	select {
	case l, ok := <-p.lines:
		if !ok {
			<-p.done
			p.t.Fatalf("%s ended (%v) instead of answering", p.name, p.err)
		}
		return l
	case <-time.After(d):
		p.t.Fatalf("%s: no line on stdout within %s", p.name, d)
	}
	return line{}
}

// send writes one line to stdin.
func (p *proc) send(s string) {
	p.t.Helper()
	if _, err := io.WriteString(p.stdin, s+"\n"); err != nil {
		p.t.Fatalf("%s: write stdin: %v", p.name, err)
	}
}

// signal sends sig and waits (bounded) for the process to end.
func (p *proc) signal(sig os.Signal, d time.Duration) error {
	p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
		return nil
	case <-time.After(d):
		return fmt.Errorf("%s did not exit within %s of %v", p.name, d, sig)
	}
}

// kill ends the process at once (SIGKILL) and waits for it.
func (p *proc) kill() {
	if p.stdin != nil {
		p.stdin.Close()
	}
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Kill()
	// Drain what it wrote so the reader reaches EOF and Wait runs.
	for range p.lines {
	}
	<-p.done
}

// exited waits up to d for the process to end by itself and returns its
// exit error (nil: status 0).
func (p *proc) exited(d time.Duration) error {
	p.t.Helper()
	select {
	case <-p.done:
		return p.err
	case <-time.After(d):
		p.t.Fatalf("%s did not exit within %s", p.name, d)
	}
	return nil
}

// freeAddr returns a loopback address with a port nobody listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// hubProc is a running hexiao-hub serve.
type hubProc struct {
	t     *testing.T
	p     *proc
	dir   string
	http  string // address of the API
	mqtt  string // address of the embedded broker ("" with --broker)
	token string
}

// startHub runs hexiao-hub serve on dir and waits for its listeners (with
// --broker in extra: for "mqtt connected to" instead of the embedded
// broker's line).
func startHub(t *testing.T, dir, httpAddr, mqttAddr string, extra ...string) *hubProc {
	t.Helper()
	args := append([]string{"serve", "--data", dir, "--http", httpAddr, "--mqtt", mqttAddr}, extra...)
	external := false
	for _, a := range extra {
		external = external || a == "--broker"
	}
	h := &hubProc{t: t, dir: dir, p: startProc(t, "hexiao-hub", bins.hub, false, args...)}
	deadline := time.After(wait)
	for h.http == "" || (h.mqtt == "" && !external) {
		var l line
		var ok bool
		select {
		case l, ok = <-h.p.lines:
		case <-deadline:
			t.Fatalf("hexiao-hub printed no listeners within %s", wait)
		}
		if !ok {
			<-h.p.done
			t.Fatalf("hexiao-hub exited at start: %v\n%s", h.p.err, h.p.logs)
		}
		if a, ok := strings.CutPrefix(l.text, "http listening on "); ok {
			h.http = a
		}
		if a, ok := strings.CutPrefix(l.text, "mqtt listening on "); ok {
			h.mqtt = a
		}
	}
	tok, err := os.ReadFile(filepath.Join(dir, "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	h.token = strings.TrimSpace(string(tok))
	return h
}

// stop ends the hub as an operator does (SIGTERM) and waits for it.
func (h *hubProc) stop() {
	h.t.Helper()
	if err := h.p.signal(syscall.SIGTERM, wait); err != nil {
		h.t.Fatal(err)
	}
	if h.p.err != nil {
		h.t.Errorf("hexiao-hub exited with %v after SIGTERM", h.p.err)
	}
}

// call does one API request and decodes a 2xx answer into out (if not
// nil); any other status fails the test.
func (h *hubProc) call(method, path string, body, out any) {
	h.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			h.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, "http://"+h.http+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+h.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	c := &http.Client{Timeout: wait}
	resp, err := c.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatalf("%s %s: read the answer: %v", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		h.t.Fatalf("%s %s: %s %s", method, path, resp.Status, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			h.t.Fatalf("%s %s: decode %s: %v", method, path, truncate(string(b), 500), err)
		}
	}
}

func (h *hubProc) addStore(id, region string) {
	h.t.Helper()
	h.call("POST", "/api/v1/stores", map[string]string{"id": id, "name": "Store " + id, "region": region, "timezone": "UTC"}, nil)
}

// addCampaign makes a single-use campaign valid at stores whose offline
// policy allows maxOffline unacknowledged offline redemptions per terminal.
func (h *hubProc) addCampaign(id string, stores []string, maxOffline int) {
	h.t.Helper()
	h.call("POST", "/api/v1/campaigns", map[string]any{"id": id, "name": "Campaign " + id, "face_value": 2500, "uses": 1,
		"valid_from": "2026-01-01T00:00:00Z", "valid_until": "2035-12-31T00:00:00Z", "stores": stores,
		"offline": map[string]any{"allow": true, "max_count": maxOffline}}, nil)
}

// code is an issued signed code.
type code struct {
	ID   string `json:"id"`
	Code string `json:"code"`
}

func (h *hubProc) issue(campaign string, n int) []code {
	h.t.Helper()
	var out struct {
		Codes []code `json:"codes"`
	}
	h.call("POST", "/api/v1/campaigns/"+campaign+"/codes", map[string]any{"count": n, "format": "signed"}, &out)
	if len(out.Codes) != n {
		h.t.Fatalf("issued %d codes, asked %d", len(out.Codes), n)
	}
	return out.Codes
}

// redemption is a row of GET /api/v1/redemptions (the fields these tests
// read).
type redemption struct {
	Terminal string   `json:"terminal"`
	Seq      uint64   `json:"seq"`
	Kind     string   `json:"kind"`
	Reason   string   `json:"reason"`
	Store    string   `json:"store"`
	Mode     string   `json:"mode"`
	Code     string   `json:"code"`
	Uses     int      `json:"uses"`
	Flags    []string `json:"flags"`
	Z        *struct {
		Number      int `json:"number"`
		Redemptions int `json:"redemptions"`
	} `json:"z"`
}

func (r redemption) ref() string { return r.Terminal + ":" + strconv.FormatUint(r.Seq, 10) }

// redemptions lists ledger rows; query is the URL query (without "?").
func (h *hubProc) redemptions(query string) []redemption {
	h.t.Helper()
	var rows []redemption
	h.call("GET", "/api/v1/redemptions?"+query, nil, &rows)
	return rows
}

// alert is a row of GET /api/v1/alerts.
type alert struct {
	ID        int64    `json:"id"`
	Kind      string   `json:"kind"`
	Code      string   `json:"code_id"`
	Stores    []string `json:"stores"`
	Terminals []string `json:"terminals"`
	Events    []string `json:"events"`
	Note      string   `json:"note"`
	AckedBy   string   `json:"acked_by"`
}

func (h *hubProc) alerts(kind string) []alert {
	h.t.Helper()
	var out []alert
	h.call("GET", "/api/v1/alerts?kind="+kind, nil, &out)
	return out
}

// codeInfo is GET /api/v1/codes/{id} (the fields read here).
type codeInfo struct {
	ID       string `json:"id"`
	Status   string `json:"status"`
	UsesLeft int    `json:"uses_left"`
}

func (h *hubProc) code(id string) codeInfo {
	h.t.Helper()
	var c codeInfo
	h.call("GET", "/api/v1/codes/"+id, nil, &c)
	return c
}

// term is an enrolled terminal's data directory.
type term struct {
	t     *testing.T
	id    string
	store string
	dir   string
}

// enroll makes an enrollment token at h and runs hexiao-terminal enroll
// with it into a new directory.
func enroll(t *testing.T, h *hubProc, store, id string) *term {
	t.Helper()
	var tok struct {
		Token string `json:"token"`
	}
	h.call("POST", "/api/v1/enrollments", map[string]string{"store": store, "terminal": id}, &tok)
	tm := &term{t: t, id: id, store: store, dir: filepath.Join(t.TempDir(), id)}
	out, err := exec.Command(bins.terminal, "enroll", "--data", tm.dir, "--hub", "http://"+h.http, "--token", tok.Token).CombinedOutput()
	if err != nil {
		t.Fatalf("enroll %s: %v\n%s", id, err, out)
	}
	return tm
}

// hubConfig is the terminal's hub.json (the fields read here).
type hubConfig struct {
	MQTTURL  string `json:"mqtt_url"`
	Password string `json:"mqtt_password"`
}

func (tm *term) hubConfig() hubConfig {
	tm.t.Helper()
	b, err := os.ReadFile(filepath.Join(tm.dir, "hub.json"))
	if err != nil {
		tm.t.Fatal(err)
	}
	var c hubConfig
	if err := json.Unmarshal(b, &c); err != nil {
		tm.t.Fatal(err)
	}
	return c
}

// setBroker rewrites mqtt_url in hub.json, as an operator pointing the
// terminal elsewhere would.
func (tm *term) setBroker(u string) {
	tm.t.Helper()
	path := filepath.Join(tm.dir, "hub.json")
	b, err := os.ReadFile(path)
	if err != nil {
		tm.t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		tm.t.Fatal(err)
	}
	m["mqtt_url"] = u
	if b, err = json.MarshalIndent(m, "", "  "); err != nil {
		tm.t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		tm.t.Fatal(err)
	}
}

// headless is a running hexiao-terminal headless.
type headless struct {
	*proc
	tm *term
}

// start runs headless on the terminal's directory with stdin on a pipe.
func (tm *term) start(args ...string) *headless {
	tm.t.Helper()
	return &headless{proc: startProc(tm.t, "headless "+tm.id, bins.terminal, true,
		append([]string{"headless", "--data", tm.dir}, args...)...), tm: tm}
}

// startEmpty runs headless with empty stdin: it resolves what a crash
// interrupted, flushes the outbox and exits.
func (tm *term) startEmpty(args ...string) *proc {
	tm.t.Helper()
	return startProc(tm.t, "headless "+tm.id+" (empty stdin)", bins.terminal, false,
		append([]string{"headless", "--data", tm.dir}, args...)...)
}

// answer is one headless output line: a decision or a control answer.
type answer struct {
	Line          int    `json:"line"`
	Code          string `json:"code"`
	CodeID        string `json:"code_id"`
	Verdict       string `json:"verdict"`
	Reason        string `json:"reason"`
	EventID       string `json:"event_id"`
	Mode          string `json:"mode"`
	RemainingUses int    `json:"remaining_uses"`
	Error         string `json:"error"`

	Cmd           string `json:"cmd"`
	OK            bool   `json:"ok"`
	ForcedOffline bool   `json:"forced_offline"`
	Sync          string `json:"sync"`
	Outbox        uint64 `json:"outbox"`
	Report        *struct {
		Kind    string `json:"kind"`
		Number  int    `json:"number"`
		EventID string `json:"event_id"`
		Totals  struct {
			Redemptions int `json:"redemptions"`
			Refused     int `json:"refused"`
		} `json:"totals"`
	} `json:"report"`

	at time.Time // when the test read it
}

func parseAnswer(t *testing.T, l line) answer {
	t.Helper()
	var a answer
	if err := json.Unmarshal([]byte(l.text), &a); err != nil {
		t.Fatalf("headless line %q: %v", l.text, err)
	}
	a.at = l.at
	return a
}

// seq is the journal seq of the answer's event (0 if none).
func (a answer) seq() uint64 {
	_, s, _ := strings.Cut(a.EventID, ":")
	n, _ := strconv.ParseUint(s, 10, 64)
	return n
}

// scan sends a code and returns the decision.
func (h *headless) scan(c string) answer {
	h.t.Helper()
	h.send(c)
	a := parseAnswer(h.t, h.next(wait))
	if a.Cmd != "" || a.Verdict == "" {
		h.t.Fatalf("%s: scanned a code, got %+v", h.name, a)
	}
	return a
}

// control sends a control line ({"cmd":...}) and returns the answer.
func (h *headless) control(cmd map[string]string) answer {
	h.t.Helper()
	b, _ := json.Marshal(cmd)
	h.send(string(b))
	a := parseAnswer(h.t, h.next(wait))
	if a.Cmd != cmd["cmd"] {
		h.t.Fatalf("%s: sent %s, got %+v", h.name, b, a)
	}
	return a
}

// waitMode polls {"cmd":"status"} until the terminal is in mode.
func (h *headless) waitMode(mode string, d time.Duration) {
	h.t.Helper()
	eventually(h.t, d, h.name+" mode "+mode, func() (bool, string) {
		a := h.control(map[string]string{"cmd": "status"})
		return a.Mode == mode, fmt.Sprintf("mode %s, sync %q", a.Mode, a.Sync)
	})
}

// finish closes stdin and waits for headless to flush and exit; it
// returns the lines it wrote meanwhile and fails unless it exited 0
// having flushed the outbox.
func (h *headless) finish() []line {
	h.t.Helper()
	h.stdin.Close()
	var rest []line
	for l := range h.lines {
		rest = append(rest, l)
	}
	if err := h.exited(wait + 10*time.Second); err != nil {
		h.t.Fatalf("%s exited with %v\n%s", h.name, err, h.logs)
	}
	if !h.logs.Contains("outbox flushed") {
		h.t.Fatalf("%s exited without flushing its outbox:\n%s", h.name, h.logs)
	}
	return rest
}

// journalEvent is one row of hexiao-terminal log --csv.
type journalEvent struct {
	ref, kind, code, mode, reason string
	seq                           uint64
}

// journal reads the terminal's own journal for the business days given
// (YYYY-MM-DD in the store's time zone) with hexiao-terminal log --csv.
// The process must not be running (log takes the directory's lock).
func (tm *term) journal(days ...string) []journalEvent {
	tm.t.Helper()
	var out []journalEvent
	seen := map[string]bool{}
	for _, day := range days {
		if seen[day] {
			continue
		}
		seen[day] = true
		b, err := exec.Command(bins.terminal, "log", "--data", tm.dir, "--day", day, "--csv").Output()
		if err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				err = fmt.Errorf("%v: %s", err, ee.Stderr)
			}
			tm.t.Fatalf("log --day %s: %v", day, err)
		}
		r := csv.NewReader(bytes.NewReader(b))
		r.FieldsPerRecord = -1
		rows, err := r.ReadAll()
		if err != nil {
			tm.t.Fatalf("log --csv: %v", err)
		}
		// The event rows come first under their header, then the totals
		// under theirs (campaign,redemptions,...).
		if len(rows) == 0 || strings.Join(rows[0], ",") != "time,event,kind,code,campaign,uses,amount,mode,reason,cashier,voids,order_ref,note" {
			tm.t.Fatalf("log --csv header: %q", rows)
		}
		for _, row := range rows[1:] {
			if row[0] == "campaign" {
				break
			}
			e := journalEvent{ref: row[1], kind: row[2], code: row[3], mode: row[7], reason: row[8]}
			_, s, _ := strings.Cut(e.ref, ":")
			if e.seq, err = strconv.ParseUint(s, 10, 64); err != nil {
				tm.t.Fatalf("log --csv: event %q: %v", e.ref, err)
			}
			out = append(out, e)
		}
	}
	return out
}
