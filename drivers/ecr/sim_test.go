package ecr

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hexiao/hexiao/internal/ptypair"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs (go test -update rewrites it):\n got:\n%s\nwant:\n%s", path, got, want)
	}
}

const simScript = `# a session as docs/ecr.md shows it
STATUS
PREPARE code=HX1:MEAL10 uses=2
COMMIT code=HX1:MEAL10 uses=1 order=A-1001 key=K1 cashier=c1
COMMIT code=HX1:MEAL10 uses=1 order=A-1001 key=K1 cashier=c1
COMMIT code=USED-7 order=A-1002 key=K2 cashier=c1
LAST_RESULT key=K1
REVERSE key=K1 cashier=m1 reason="customer changed their mind"
REVERSE key=K1 cashier=m1
LAST_RESULT key=nope
COMMIT code=HX1:MEAL10 order=A-1003
TOTALS
END_OF_DAY cashier=m1
REFUND code=X
COMMIT code=X colour=red
COMMIT code="unterminated
`

// TestSimGolden runs the simulator against a Server over a pty pair and
// compares its output with testdata/sim.golden.
func TestSimGolden(t *testing.T) {
	pair := ptypair.New(t)
	srv := NewServer(openPort(t, pair.B), newFakeTerminal(), Config{}, nil)
	goRun(t, "server", srv.Run)
	var out bytes.Buffer
	if err := RunSim(context.Background(), openPort(t, pair.A), strings.NewReader(simScript), &out, Config{}); err != nil {
		t.Fatalf("RunSim: %v", err)
	}
	golden(t, "sim.golden", out.Bytes())
}

// releaseWriter collects output and closes release when a line says an
// outcome is unknown.
type releaseWriter struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	release chan struct{}
	once    sync.Once
}

func (w *releaseWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if bytes.Contains(p, []byte(`"outcome":"unknown"`)) {
		w.once.Do(func() { close(w.release) })
	}
	return w.buf.Write(p)
}

// TestSimUnknownOutcome: a COMMIT the terminal is still working on when
// the register's retransmissions run out is reported unknown, and the
// simulator asks LAST_RESULT itself, which (the terminal answering in
// order) reports the commit done. The commit ran once.
func TestSimUnknownOutcome(t *testing.T) {
	pair := ptypair.New(t)
	term := newFakeTerminal()
	w := &releaseWriter{release: make(chan struct{})}
	term.hold = w.release
	srv := NewServer(openPort(t, pair.B), term, Config{}, nil)
	goRun(t, "server", srv.Run)
	cfg := Config{AckTimeout: 30_000_000, ReplyTimeout: 50_000_000}
	err := RunSim(context.Background(), openPort(t, pair.A), strings.NewReader("COMMIT code=HX1:A key=K1 order=A-1\n"), w, cfg)
	if err != nil {
		t.Fatalf("RunSim: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(w.buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("got %d lines, want 2:\n%s", len(lines), w.buf.String())
	}
	if !strings.Contains(lines[0], `"command":"COMMIT"`) || !strings.Contains(lines[0], `"outcome":"unknown"`) || !strings.Contains(lines[0], `"next":"LAST_RESULT"`) {
		t.Errorf("first line: %s", lines[0])
	}
	for _, want := range []string{`"command":"LAST_RESULT"`, `"result":"ok"`, `"op":"COMMIT"`, `"key":"K1"`, `"event":"t-01:1"`, `"asked_because":"the outcome of COMMIT key=K1 was unknown"`} {
		if !strings.Contains(lines[1], want) {
			t.Errorf("second line lacks %s: %s", want, lines[1])
		}
	}
	if n := term.callsFor("K1"); n != 1 {
		t.Fatalf("COMMIT K1 handled %d times, want 1", n)
	}
}

func TestParseSimLine(t *testing.T) {
	for line, want := range map[string]Request{
		"commit code=HX1:A uses=2 key=K order=A-1 cashier=c1": {Command: CmdCommit, Code: "HX1:A", Uses: 2, IdemKey: "K", OrderRef: "A-1", Cashier: "c1"},
		`REVERSE key=K cashier=m1 reason="two words"`:         {Command: CmdReverse, IdemKey: "K", Cashier: "m1", Note: "two words"},
		`REVERSE key=K note="say \"hi\"\t"`:                   {Command: CmdReverse, IdemKey: "K", Note: "say \"hi\"\t"},
		"  STATUS  ":                                          {Command: CmdStatus},
	} {
		got, err := ParseSimLine(line)
		if err != nil || got != want {
			t.Errorf("ParseSimLine(%q) = %+v, %v; want %+v", line, got, err, want)
		}
	}
	for _, line := range []string{"", "COMMIT code", "COMMIT code=1 code=2", "COMMIT uses=x", "COMMIT note=a reason=b", `COMMIT note="a"b`, `COMMIT note="a`, "COMMIT size=3"} {
		if got, err := ParseSimLine(line); err == nil {
			t.Errorf("ParseSimLine(%q) = %+v, want an error", line, got)
		}
	}
}
