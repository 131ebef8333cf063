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
	"sync"
	"time"

	"github.com/hexiao/hexiao/drivers/escpos"
	"github.com/hexiao/hexiao/protocol"
	"github.com/hexiao/hexiao/terminal"
	"github.com/hexiao/hexiao/terminal/counter"
	"github.com/hexiao/hexiao/terminal/hublink"
)

// session is one headless run: the counter, the hub link (nil without a
// hub) and stdout, which stdin, the serial scanner and the cash register
// all write their decisions to, one JSON object a line.
type session struct {
	ctr     *counter.Counter
	link    *hublink.Link
	cashier string
	lang    protocol.Lang
	display *escpos.Display // the customer display; nil: none

	mu sync.Mutex // guards w
	w  *bufio.Writer
}

func newSession(ctr *counter.Counter, link *hublink.Link, display *escpos.Display, out io.Writer, cashier string, lang protocol.Lang) *session {
	return &session{ctr: ctr, link: link, display: display, cashier: cashier, lang: lang, w: bufio.NewWriter(out)}
}

// emit writes v as one JSON line and flushes it.
func (s *session) emit(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.w.Write(b)
	s.w.WriteByte('\n')
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("headless: write stdout: %w", err)
	}
	return nil
}

// decide commits in and returns its line; the hub link is kicked to send
// the new event at once.
func (s *session) decide(ctx context.Context, n int, source string, in terminal.Input) decisionLine {
	if in.Cashier == "" {
		in.Cashier = s.cashier
	}
	d := s.ctr.Commit(ctx, in)
	if s.link != nil && d.Event.Seq != 0 {
		s.link.Kick()
	}
	line := describe(n, in.Text, d, s.lang)
	line.Source = source
	s.show(d.Reason, d.Uses, d.Amount)
	return line
}

// show puts a verdict on the customer display, never failing the
// decision.
func (s *session) show(r protocol.Reason, uses int, amount int64) {
	if s.display != nil {
		_ = s.display.ShowVerdict(string(r), uses, amount)
	}
}

// serve runs the printer queue and the devices and serves in. With a
// serial scanner or a cash register it keeps serving them after the end of
// in, until ctx is done (SIGINT or SIGTERM); queued slips are printed
// (up to flushTimeout) before it returns.
func (s *session) serve(ctx context.Context, devs devices, in io.Reader, stderr io.Writer, log *slog.Logger, flushTimeout time.Duration) error {
	pctx, stopPrinter := context.WithCancel(context.WithoutCancel(ctx))
	printerDone := make(chan error, 1)
	go func() { printerDone <- s.ctr.Run(pctx) }()
	defer func() {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), flushTimeout)
		if err := s.ctr.Flush(fctx); err != nil {
			fmt.Fprintf(stderr, "%v: they are marked unprinted; reprint them from the log\n", err)
		}
		cancel()
		stopPrinter()
		<-printerDone
	}()
	dctx, stopDevices := context.WithCancel(ctx)
	waitDevices := devs.start(dctx, s, stderr, log)
	defer func() {
		stopDevices()
		waitDevices()
	}()
	if err := s.serveLines(ctx, in); err != nil {
		return err
	}
	if devs.any() && ctx.Err() == nil {
		fmt.Fprintf(stderr, "end of stdin: serving the devices until stopped (SIGINT or SIGTERM)\n")
		<-ctx.Done()
	}
	return nil
}

// serveLines decides each line of in and writes one JSON decision a line to
// out, flushed once the decision is durable. Blank lines are skipped; a line
// longer than maxLine is refused as malformed.
func (s *session) serveLines(ctx context.Context, in io.Reader) error {
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
		var out any
		in := terminal.Input{Text: text, Entry: protocol.EntryScanned}
		if tooLong {
			in.Text = "?" // unreadable: refused as malformed, and journaled
		} else if strings.HasPrefix(text, "{") {
			var il inputLine
			if jerr := json.Unmarshal([]byte(text), &il); jerr == nil && il.Cmd != "" {
				out = s.control(ctx, n, il)
			} else if jerr == nil {
				in.Text, in.Uses, in.OrderRef, in.IdemKey, in.Cashier = il.Code, il.Uses, il.OrderRef, il.IdemKey, il.Cashier
			}
		}
		if out == nil {
			line := s.decide(ctx, n, "", in)
			if tooLong {
				line.Code, line.Message = "", fmt.Sprintf("line longer than %d bytes", maxLine)
			}
			out = line
		}
		if werr := s.emit(out); werr != nil {
			return werr
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

// controlLine answers a control line.
type controlLine struct {
	Line          int         `json:"line"`
	Cmd           string      `json:"cmd"`
	OK            bool        `json:"ok"`
	Error         string      `json:"error,omitempty"`
	Mode          string      `json:"mode"`
	ForcedOffline bool        `json:"forced_offline"`
	Sync          string      `json:"sync,omitempty"`
	Outbox        uint64      `json:"outbox"`
	Report        *reportView `json:"report,omitempty"` // x and z
	Printed       *bool       `json:"printed,omitempty"`
	PrintError    string      `json:"print_error,omitempty"`
}

// reportView is an X or Z report as a control line shows it.
type reportView struct {
	Kind    string                   `json:"kind"` // x or z
	Number  int                      `json:"number"`
	EventID string                   `json:"event_id,omitempty"`
	From    uint64                   `json:"from"`
	To      uint64                   `json:"to"`
	Since   time.Time                `json:"since,omitzero"`
	At      time.Time                `json:"at"`
	Lines   []terminal.CampaignTotal `json:"lines"`
	Totals  protocol.ZReport         `json:"totals"`
}

func viewReport(r counter.ReportResult) *reportView {
	v := &reportView{Kind: "x", Number: r.Number, From: r.From, To: r.To, Since: r.Since, At: r.At.UTC(), Lines: r.Lines, Totals: r.Sum()}
	if r.Z {
		v.Kind, v.EventID = "z", r.Event.String()
	}
	if v.Lines == nil {
		v.Lines = []terminal.CampaignTotal{}
	}
	return v
}

func (s *session) control(ctx context.Context, n int, il inputLine) controlLine {
	eng := s.ctr.Engine()
	out := controlLine{Line: n, Cmd: il.Cmd, OK: true}
	var (
		err error
		rep counter.ReportResult
	)
	switch il.Cmd {
	case "offline", "online":
		err = eng.ForceOffline(ctx, il.Manager, il.Cmd == "offline", il.Note)
	case "status":
	case "x":
		rep, err = s.ctr.XReport(ctx)
	case "z":
		rep, err = s.ctr.CloseDay(ctx, il.Manager)
	case "reprint":
		err = s.ctr.Reprint(ctx, il.Seq)
		if s.ctr.HasPrinter() {
			printed := err == nil
			out.Printed = &printed
		}
	default:
		err = fmt.Errorf("unknown cmd %q: want offline, online, status, x, z or reprint", il.Cmd)
	}
	if err != nil {
		out.OK, out.Error = false, err.Error()
	}
	if (il.Cmd == "x" || il.Cmd == "z") && err == nil {
		out.Report = viewReport(rep)
		if s.ctr.HasPrinter() {
			out.Printed = &rep.Printed
			if rep.PrintErr != nil {
				out.PrintError = rep.PrintErr.Error()
			}
		}
		if il.Cmd == "z" && s.link != nil {
			s.link.Kick()
		}
	}
	out.Mode, out.ForcedOffline = string(protocol.ModeOffline), eng.ForcedOffline()
	if eng.Online() {
		out.Mode = string(protocol.ModeOnline)
	}
	if s.link != nil {
		st := s.link.Status()
		out.Sync, out.Outbox = st.Describe(), st.Head-min(st.Head, st.Acked)
	}
	return out
}
