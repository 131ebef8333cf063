package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hexiao/hexiao/protocol"
	"github.com/hexiao/hexiao/terminal"
	"github.com/hexiao/hexiao/terminal/counter"
	"github.com/hexiao/hexiao/terminal/internal/termtest"
	"github.com/hexiao/hexiao/terminal/sqlite"
)

// setupData makes a terminal with the command's own init and import.
func setupData(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	pepper := filepath.Join(dir, "pepper.hex")
	if err := os.WriteFile(pepper, []byte(hex.EncodeToString(termtest.Pepper)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	ctx := context.Background()
	if err := run(ctx, []string{"init", "--data", data, "--terminal", termtest.Terminal, "--store", termtest.Store,
		"--pepper-file", pepper}, nil, &out, &errb); err != nil {
		t.Fatalf("init: %v\n%s", err, errb.String())
	}
	camp := termtest.Campaign("c1")
	camp.ValidFrom, camp.ValidUntil = time.Now().AddDate(0, -1, 0), time.Now().AddDate(1, 0, 0)
	multi := camp
	multi.ID, multi.Name, multi.Uses, multi.FaceValue = "meal-10x", "午餐次卡", 10, 3500
	snap := termtest.Snapshot{Campaigns: []protocol.Campaign{camp, multi},
		Codes: []protocol.CodeState{termtest.SecretCode(1, "c1", 1), termtest.SecretCode(2, "meal-10x", 10)}, AsOf: 42}
	file := filepath.Join(dir, "snapshot.ndjson")
	if err := os.WriteFile(file, snap.File(t, 1), 0o600); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := run(ctx, []string{"import", "--data", data, file}, nil, &out, &errb); err != nil {
		t.Fatalf("import: %v", err)
	}
	if !strings.Contains(out.String(), "2 codes, 2 campaigns") {
		t.Fatalf("import said %q", out.String())
	}
	return data
}

func decisions(t *testing.T, out string) []decisionLine {
	t.Helper()
	var ds []decisionLine
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var d decisionLine
		if err := json.Unmarshal([]byte(l), &d); err != nil {
			t.Fatalf("output line %q is not JSON: %v", l, err)
		}
		ds = append(ds, d)
	}
	return ds
}

func TestHeadless(t *testing.T) {
	data := setupData(t)
	s1, _ := termtest.Secret(1)
	s2, _ := termtest.Secret(2)
	in := strings.Join([]string{
		s1,
		"",
		s1,
		`{"code":"` + s2 + `","uses":3,"cashier":"c-07","order_ref":"POS-1001"}`,
		"garbage!!",
		strings.Repeat("A", maxLine+10),
		"abcd-0000-0000-0001", // a card secret typed in lower case with dashes: not ours
	}, "\n") // no final newline: the last line still counts
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"headless", "--data", data, "--cashier", "c-01"}, strings.NewReader(in), &out, &errb); err != nil {
		t.Fatalf("headless: %v\n%s", err, errb.String())
	}
	ds := decisions(t, out.String())
	want := []struct {
		line    int
		verdict string
		reason  protocol.Reason
		left    int
	}{
		{1, "accepted", protocol.Accepted, 0},
		{3, "rejected", protocol.UsedUp, 0},
		{4, "accepted", protocol.Accepted, 7},
		{5, "rejected", protocol.Malformed, 0},
		{6, "rejected", protocol.Malformed, 0},
		{7, "rejected", protocol.UnknownCode, 0},
	}
	if len(ds) != len(want) {
		t.Fatalf("%d decisions, want %d:\n%s", len(ds), len(want), out.String())
	}
	for i, w := range want {
		d := ds[i]
		if d.Line != w.line || d.Verdict != w.verdict || d.Reason != w.reason || d.RemainingUses != w.left || d.EventID == "" || d.Mode != protocol.ModeOffline {
			t.Errorf("decision %d = %+v, want line %d %s %s with %d left, an event id, offline", i, d, w.line, w.verdict, w.reason, w.left)
		}
	}
	if ds[0].Code != "CA********01" || strings.Contains(out.String(), s1) {
		t.Errorf("a card secret is echoed in the clear: %q", ds[0].Code)
	}
	if ds[2].Amount != 3*3500 || ds[2].CampaignName != "午餐次卡" || ds[2].Uses != 3 {
		t.Errorf("multi-use decision %+v", ds[2])
	}
	if !strings.Contains(errb.String(), "6 events wait in the outbox") {
		t.Errorf("stderr %q does not report the outbox", errb.String())
	}

	// The log of the day shows them, with totals.
	out.Reset()
	// The store's day, in its zone (the snapshot said Asia/Shanghai).
	day := time.Now().In(mustLoc(t, "Asia/Shanghai")).Format(time.DateOnly)
	if err := run(context.Background(), []string{"log", "--data", data}, nil, &out, &errb); err != nil {
		t.Fatalf("log: %v", err)
	}
	for _, s := range []string{day + " — terminal", "(6 events)", "POS-1001", "Totals by campaign"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("log lacks %q:\n%s", s, out.String())
		}
	}
	out.Reset()
	if err := run(context.Background(), []string{"log", "--data", data, "--day", day, "--csv"}, nil, &out, &errb); err != nil {
		t.Fatalf("log --csv: %v", err)
	}
	r := csv.NewReader(strings.NewReader(out.String()))
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatalf("log --csv is not CSV: %v", err)
	}
	if len(rows) != 1+6+1+3 || rows[0][0] != "time" || rows[7][0] != "campaign" {
		t.Fatalf("CSV has %d rows:\n%s", len(rows), out.String())
	}
	wantTotals := map[string]string{
		"(no campaign)": "(no campaign),0,0,0.00,0,0,0,0.00,0.00,3",
		"c1":            "c1,1,1,25.00,1,0,0,0.00,25.00,1",
		"meal-10x":      "meal-10x,1,3,105.00,1,0,0,0.00,105.00,0",
	}
	for _, row := range rows[8:] {
		if got := strings.Join(row, ","); got != wantTotals[row[0]] {
			t.Errorf("totals row %q, want %q", got, wantTotals[row[0]])
		}
	}
	if rows[2][3] != "S00000000001" || rows[2][8] != "used_up" {
		t.Errorf("the refused rescan does not name its code: %v", rows[2])
	}
}

func mustLoc(t *testing.T, name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// TestKill9AfterVerdict runs the real binary, reads one accepted verdict
// and kills the process with SIGKILL at once: the redemption must be in the
// journal when the store is opened again, and the chain must verify.
func TestKill9AfterVerdict(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "hexiao-terminal")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	data := setupData(t)
	for round := range 2 {
		cmd := exec.Command(bin, "headless", "--data", data)
		stdin, _ := cmd.StdinPipe()
		stdout, _ := cmd.StdoutPipe()
		var errb bytes.Buffer
		cmd.Stderr = &errb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		s2, _ := termtest.Secret(2)
		io.WriteString(stdin, s2+"\n")
		line, err := bufio.NewReader(stdout).ReadString('\n')
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		if err != nil {
			t.Fatalf("round %d: no verdict: %v\n%s", round, err, errb.String())
		}
		var d decisionLine
		if err := json.Unmarshal([]byte(line), &d); err != nil || d.Verdict != "accepted" {
			t.Fatalf("round %d: verdict %q (%v)", round, line, err)
		}
		st, err := sqlite.Open(context.Background(), data, nil)
		if err != nil {
			t.Fatalf("round %d: reopen after kill -9: %v", round, err)
		}
		ref, _ := protocol.ParseEventRef(d.EventID)
		ev, _, err := st.Redemption(context.Background(), ref.Seq)
		if err != nil || ev.Kind != protocol.KindRedemption || ev.Code != d.CodeID {
			t.Errorf("round %d: event %s after kill -9: %+v, %v", round, d.EventID, ev, err)
		}
		evs, _ := st.Events(context.Background(), 1, 1000)
		if _, _, err := protocol.VerifyChain(protocol.ChainHead{Terminal: termtest.Terminal, Store: termtest.Store}, st.PublicKey(), evs); err != nil {
			t.Errorf("round %d: chain after kill -9: %v", round, err)
		}
		st.Close()
	}
}

// FuzzHeadlessLines feeds arbitrary stdin to the headless loop: it must
// never panic, and must answer every non-blank line with one JSON decision
// whose reason is on the closed list.
func FuzzHeadlessLines(f *testing.F) {
	s1, _ := termtest.Secret(1)
	f.Add([]byte(s1 + "\n" + s1 + "\n"))
	f.Add([]byte("{\"code\":\"CARD00000002\",\"uses\":99999}\n\x00\x1b[A\r\n"))
	f.Add([]byte("HX1:AAAA\nHXD:D1" + "12345678\n" + strings.Repeat("9", 5000)))
	f.Add([]byte("{\"code\":{\"x\":1}}\n\xff\xfe\n"))
	data := setupData(f)
	st, err := sqlite.Open(context.Background(), data, nil)
	if err != nil {
		f.Fatal(err)
	}
	defer st.Close()
	f.Fuzz(func(t *testing.T, in []byte) {
		eng := terminal.New(st, nil, time.Now, terminal.Config{}, nil)
		var out bytes.Buffer
		s := newSession(counter.New(eng, st, nil, counter.Config{}, time.Now, nil), nil, nil, &out, "", protocol.LangZH)
		if err := s.serveLines(context.Background(), bytes.NewReader(in)); err != nil {
			t.Fatalf("serveLines: %v", err)
		}
		want := 0
		for _, l := range strings.Split(string(in), "\n") {
			if strings.TrimSpace(l) != "" || len(l) > maxLine {
				want++
			}
		}
		got := 0
		sc := bufio.NewScanner(&out)
		for sc.Scan() {
			got++
			var d decisionLine
			if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
				t.Fatalf("output %q is not JSON: %v", sc.Text(), err)
			}
			if !d.Reason.Valid() || (d.Verdict == "accepted") != (d.Reason == protocol.Accepted) {
				t.Fatalf("decision %+v", d)
			}
		}
		if got != want {
			t.Fatalf("%d decisions for %d lines", got, want)
		}
	})
}
