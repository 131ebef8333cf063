package protocol

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// TestDocsTables checks that docs/protocol.md lists every reason with both
// texts and every topic with its publisher, QoS and retain flag, exactly as
// this package defines them.
func TestDocsTables(t *testing.T) {
	doc, err := os.ReadFile("../docs/protocol.md")
	if err != nil {
		t.Fatalf("read docs/protocol.md: %v", err)
	}
	for _, r := range Reasons() {
		row := fmt.Sprintf("| `%s` | %s | %s |", r, r.Text(LangZH), r.Text(LangEN))
		if !strings.Contains(string(doc), row) {
			t.Errorf("docs/protocol.md lacks the row\n%s", row)
		}
	}
	for _, s := range Topics {
		retained := "no"
		if s.Retained {
			retained = "yes"
		}
		row := fmt.Sprintf("| `%s` | %s | %d | %s | %s |", s.Pattern, s.From, s.QoS, retained, s.Payload)
		if !strings.Contains(string(doc), row) {
			t.Errorf("docs/protocol.md lacks the row\n%s", row)
		}
	}
}
