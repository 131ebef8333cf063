package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/hexiao/hexiao/protocol"
	"github.com/hexiao/hexiao/terminal"
	"github.com/hexiao/hexiao/terminal/sqlite"
)

// maxLine bounds one input line; a longer one is refused as malformed.
const maxLine = 4096

// decisionLine is what headless writes for each code: one JSON object a
// line. API.md fixes code, verdict, reason, event_id, mode and
// remaining_uses; the rest are additions.
type decisionLine struct {
	Line          int             `json:"line"`
	Code          string          `json:"code"` // as given; a card secret masked
	CodeID        string          `json:"code_id,omitempty"`
	Verdict       string          `json:"verdict"` // accepted or rejected
	Reason        protocol.Reason `json:"reason"`
	Message       string          `json:"message"`
	EventID       string          `json:"event_id,omitempty"`
	Mode          protocol.Mode   `json:"mode"`
	RemainingUses int             `json:"remaining_uses"`
	Uses          int             `json:"uses,omitempty"`
	Campaign      string          `json:"campaign,omitempty"`
	CampaignName  string          `json:"campaign_name,omitempty"`
	FaceValue     int64           `json:"face_value,omitempty"`
	Amount        int64           `json:"amount,omitempty"`
	At            time.Time       `json:"at"`
	Error         string          `json:"error,omitempty"` // the decision could not be journaled
}

// inputLine is the JSON form of an input line.
type inputLine struct {
	Code     string `json:"code"`
	Uses     int    `json:"uses"`
	Cashier  string `json:"cashier"`
	OrderRef string `json:"order_ref"`
	IdemKey  string `json:"idem_key"`
}

func runHeadless(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("headless", stderr)
	data := fs.String("data", "", "data directory")
	cashier := fs.String("cashier", "", "cashier id recorded with each decision")
	lang := fs.String("lang", "en", "language of the message field: en or zh-CN")
	var devices [3]string
	fs.StringVar(&devices[0], "scanner", "", "serial scanner (not built yet)")
	fs.StringVar(&devices[1], "ecr", "", "cash register link (not built yet)")
	fs.StringVar(&devices[2], "printer", "", "receipt printer (not built yet)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *data == "" {
		return usageErr("headless: --data DIR is required")
	}
	if fs.NArg() > 0 {
		return usageErr("headless: codes come on stdin, not as arguments")
	}
	if *lang != string(protocol.LangEN) && *lang != string(protocol.LangZH) {
		return usageErr(fmt.Sprintf("headless: --lang %q: want en or zh-CN", *lang))
	}
	if *cashier != "" {
		if err := protocol.ValidID(*cashier); err != nil {
			return usageErr("headless: --cashier: " + err.Error())
		}
	}
	for i, flagName := range []string{"--scanner", "--ecr", "--printer"} {
		if devices[i] != "" {
			return fmt.Errorf("headless: %s is not built yet: see README 'Status'", flagName)
		}
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	st, err := sqlite.Open(ctx, *data, log)
	if err != nil {
		return err
	}
	defer st.Close()
	eng := terminal.New(st, nil, time.Now, terminal.Config{}, log)
	interrupted, err := eng.Resolve(ctx)
	if err != nil {
		return err
	}
	for _, ev := range interrupted {
		fmt.Fprintf(stderr, "interrupted before its verdict and NOT redeemed: code %s (event %s): scan it again\n", ev.Code, ev.Ref())
	}
	id := st.Identity()
	fmt.Fprintf(stderr, "terminal %s of store %s ready: offline (no hub link in this build); codes on stdin, one a line\n", id.Terminal, id.Store)

	if err := serveLines(ctx, eng, stdin, stdout, *cashier, protocol.Lang(*lang)); err != nil {
		return err
	}
	depth, err := st.OutboxDepth(ctx)
	if err != nil {
		return err
	}
	if depth > 0 {
		fmt.Fprintf(stderr, "%d events wait in the outbox for the hub (no hub link in this build)\n", depth)
	}
	return nil
}

// serveLines decides each line of in and writes one JSON decision a line to
// out, flushed once the decision is durable. Blank lines are skipped; a line
// longer than maxLine is refused as malformed.
func serveLines(ctx context.Context, eng *terminal.Engine, in io.Reader, out io.Writer, cashier string, lang protocol.Lang) error {
	w := bufio.NewWriter(out)
	r := bufio.NewReaderSize(in, maxLine+1)
	for n := 1; ctx.Err() == nil; n++ {
		text, tooLong, err := readLine(r)
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("headless: read stdin: %w", err)
		}
		if text == "" && !tooLong {
			if errors.Is(err, io.EOF) {
				return nil
			}
			continue // blank line: nothing scanned
		}
		in := terminal.Input{Text: text, Entry: protocol.EntryScanned, Cashier: cashier}
		if tooLong {
			in.Text = "?" // unreadable: refused as malformed, and journaled
		} else if strings.HasPrefix(text, "{") {
			var il inputLine
			if jerr := json.Unmarshal([]byte(text), &il); jerr == nil {
				in.Text, in.Uses, in.OrderRef, in.IdemKey = il.Code, il.Uses, il.OrderRef, il.IdemKey
				if il.Cashier != "" {
					in.Cashier = il.Cashier
				}
			}
		}
		d := eng.Commit(ctx, in)
		line := describe(n, in.Text, d, lang)
		if tooLong {
			line.Code, line.Message = "", fmt.Sprintf("line longer than %d bytes", maxLine)
		}
		b, _ := json.Marshal(line)
		w.Write(b)
		w.WriteByte('\n')
		if ferr := w.Flush(); ferr != nil {
			return fmt.Errorf("headless: write stdout: %w", ferr)
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
	}
	return nil
}

// readLine reads one line without its end, trimmed. A line longer than
// maxLine is consumed to its end and reported as tooLong.
func readLine(r *bufio.Reader) (text string, tooLong bool, err error) {
	b, err := r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		for errors.Is(err, bufio.ErrBufferFull) {
			_, err = r.ReadSlice('\n')
		}
		return "", true, err
	}
	return strings.TrimSpace(string(b)), false, err
}

func describe(n int, text string, d terminal.Decision, lang protocol.Lang) decisionLine {
	out := decisionLine{Line: n, Code: maskCode(text), CodeID: d.Code.ID, Verdict: "rejected", Reason: d.Reason,
		Message: d.Reason.Text(lang), Mode: d.Mode, RemainingUses: d.UsesLeft, Campaign: d.Campaign.ID,
		CampaignName: d.Campaign.Name, FaceValue: d.Campaign.FaceValue, At: d.At.UTC()}
	if d.Mode == "" {
		out.Mode = protocol.ModeOffline
	}
	if d.Event.Seq != 0 {
		out.EventID = d.Event.String()
	}
	if d.Accepted() {
		out.Verdict, out.Uses, out.Amount = "accepted", d.Uses, d.Amount
	}
	if d.Err != nil {
		out.Error = d.Err.Error()
	}
	return out
}

// maskCode keeps signed and dynamic codes as given (they are useless once
// redeemed or a minute old) and masks anything else — a card secret, or
// something that may be one mistyped — to its first and last two
// characters.
func maskCode(s string) string {
	if c, err := protocol.ParseCode(s); err == nil && c.Format != protocol.FormatSecret {
		return s
	}
	r := []rune(s)
	if len(r) < 8 {
		return strings.Repeat("*", len(r))
	}
	return string(r[:2]) + strings.Repeat("*", len(r)-4) + string(r[len(r)-2:])
}
