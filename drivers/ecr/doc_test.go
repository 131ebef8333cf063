package ecr

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/hexiao/hexiao/protocol"
)

// hexLines writes b as rows of 16 upper-case hex bytes.
func hexLines(b []byte) string {
	var sb strings.Builder
	for i := 0; i < len(b); i += 16 {
		row := b[i:min(i+16, len(b))]
		for j, c := range row {
			if j > 0 {
				sb.WriteByte(' ')
			}
			fmt.Fprintf(&sb, "%02X", c)
		}
		sb.WriteByte('\n')
	}
	return sb.String()
}

// docExample builds the worked examples docs/ecr.md shows.
func docExample(t *testing.T) string {
	var sb strings.Builder
	frame := func(title string, seq byte, payload []byte, c Checksum) {
		f, err := AppendFrame(nil, Frame{Seq: seq, Payload: payload}, c)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&sb, "# %s (%v, seq %02X): payload %q\n", title, c, seq, payload)
		sb.WriteString(hexLines(f))
	}
	// The checksum example: what it covers and its value.
	prep := p("PREPARE", "V=1", "CODE=ABCD-1234")
	covered := append(append([]byte{0x07}, prep...), ETX)
	fmt.Fprintf(&sb, "# checksum input: seq 07, payload, ETX\n%s", hexLines(covered))
	fmt.Fprintf(&sb, "# CRC-16/CCITT-FALSE = %04X, LRC = %02X\n", crc16(0xFFFF, covered), lrc(0, covered))
	frame("PREPARE request", 0x07, prep, CRC16)
	frame("PREPARE request", 0x07, prep, LRC)

	// A COMMIT exchange whose sequence byte must be escaped.
	req, err := EncodeRequest(Request{Command: CmdCommit, Code: "ABCD-1234", Uses: 1, IdemKey: "POS1-000123", OrderRef: "A-1001", Cashier: "c1"})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := EncodeReply(Reply{Command: CmdCommit, Result: ResultOK, Reason: protocol.Accepted, IdemKey: "POS1-000123", OrderRef: "A-1001",
		Campaign: "meal-10", Face: 1000, Uses: 1, Amount: 1000, UsesLeft: 0, Event: protocol.EventRef{Terminal: "t-01", Seq: 42}, Mode: protocol.ModeOnline})
	if err != nil {
		t.Fatal(err)
	}
	sb.WriteString("# register -> terminal\n")
	frame("COMMIT request", 0x10, req, CRC16)
	sb.WriteString("# terminal -> register: ACK\n06\n")
	sb.WriteString("# terminal -> register\n")
	frame("COMMIT reply", 0x10, rep, CRC16)
	sb.WriteString("# register -> terminal: ACK\n06\n")
	frame("the same request with the LRC profile", 0x10, req, LRC)
	return sb.String()
}

// TestDocExample keeps the bytes in docs/ecr.md true: they are the golden
// file testdata/example.golden, and every hex row of it must appear in the
// spec.
func TestDocExample(t *testing.T) {
	got := docExample(t)
	golden(t, "example.golden", []byte(got))
	doc, err := os.ReadFile("../../docs/ecr.md")
	if err != nil {
		t.Fatalf("read the spec: %v", err)
	}
	for _, line := range strings.Split(got, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !strings.Contains(string(doc), line) {
			t.Errorf("docs/ecr.md lacks the example row %q (testdata/example.golden)", line)
		}
	}
	// Every reason on protocol's closed list is explained in the spec.
	for _, r := range protocol.Reasons() {
		if !strings.Contains(string(doc), "`"+string(r)+"`") {
			t.Errorf("docs/ecr.md does not list reason %s", r)
		}
	}
	for _, r := range Results() {
		if !strings.Contains(string(doc), "`"+string(r)+"`") {
			t.Errorf("docs/ecr.md does not list result %s", r)
		}
	}
}
