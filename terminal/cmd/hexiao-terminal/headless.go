package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/hexiao/hexiao/protocol"
	"github.com/hexiao/hexiao/terminal"
	"github.com/hexiao/hexiao/terminal/hublink"
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

// inputLine is the JSON form of an input line. Cmd, when set, makes it a
// control line: offline or online (a manager's force-offline switch, with
// Manager and Note), or status.
type inputLine struct {
	Cmd      string `json:"cmd"`
	Manager  string `json:"manager"`
	Note     string `json:"note"`
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
	claimTimeout := fs.Duration("claim-timeout", 800*time.Millisecond, "how long a claim waits for the hub before deciding offline")
	syncWait := fs.Duration("sync-wait", 30*time.Second, "how long a never-synced terminal waits for its first snapshot before reading stdin")
	flushTimeout := fs.Duration("flush-timeout", 30*time.Second, "how long to wait at the end of stdin for the hub to acknowledge the outbox")
	noHub := fs.Bool("no-hub", false, "run offline without the hub link even if the terminal is enrolled")
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
	clock := terminal.HubClock(time.Now, st.ClockOffset)
	var link *hublink.Link
	if !*noHub {
		cfg, err := hublink.LoadConfig(*data)
		switch {
		case err == nil:
		case errors.Is(err, os.ErrNotExist):
			fmt.Fprintf(stderr, "not enrolled at a hub (no %s): running offline\n", hublink.ConfigFile)
		default:
			return err
		}
		if err == nil {
			var eng *terminal.Engine
			link, err = hublink.New(cfg, st, hublink.Options{App: version, Log: log, Clock: clock,
				Online:      func() bool { return eng != nil && eng.Online() },
				Forced:      func() bool { return eng != nil && eng.ForcedOffline() },
				OnReachable: func(ok bool) { eng.SetReachable(ok) },
				OnIncompatible: func(err error) {
					if err != nil {
						fmt.Fprintf(stderr, "the hub's protocol is incompatible: %v\n", err)
					}
				},
				OnRevoked: func(why string) {
					fmt.Fprintf(stderr, "this terminal was revoked by HQ (%s): cache wiped, nothing will be redeemed\n", why)
				},
			})
			if err != nil {
				return err
			}
			eng = terminal.New(st, link, clock, terminal.Config{ClaimTimeout: *claimTimeout}, log)
			eng.SetReachable(false) // until the hub answers
			return runSynced(ctx, st, eng, link, stdin, stdout, stderr, *cashier, protocol.Lang(*lang), *syncWait, *flushTimeout)
		}
	}
	eng := terminal.New(st, nil, clock, terminal.Config{ClaimTimeout: *claimTimeout}, log)
	if err := ready(ctx, st, eng, stderr, "offline (no hub link)"); err != nil {
		return err
	}
	if err := serveLines(ctx, eng, nil, stdin, stdout, *cashier, protocol.Lang(*lang)); err != nil {
		return err
	}
	depth, err := st.OutboxDepth(ctx)
	if err != nil {
		return err
	}
	if depth > 0 {
		fmt.Fprintf(stderr, "%d events wait in the outbox for the hub (not linked)\n", depth)
	}
	return nil
}

// ready resolves decisions a crash interrupted and says the terminal is
// ready.
func ready(ctx context.Context, st *sqlite.Store, eng *terminal.Engine, stderr io.Writer, mode string) error {
	interrupted, err := eng.Resolve(ctx)
	if err != nil {
		return err
	}
	for _, ev := range interrupted {
		fmt.Fprintf(stderr, "interrupted before its verdict and NOT redeemed: code %s (event %s): scan it again\n", ev.Code, ev.Ref())
	}
	id := st.Identity()
	fmt.Fprintf(stderr, "terminal %s of store %s ready: %s; codes on stdin, one a line\n", id.Terminal, id.Store, mode)
	return nil
}

// runSynced serves stdin with the hub link running: it waits (bounded) for
// a never-synced terminal's first snapshot, and at the end of stdin for the
// hub to acknowledge the outbox.
func runSynced(ctx context.Context, st *sqlite.Store, eng *terminal.Engine, link *hublink.Link, stdin io.Reader, stdout, stderr io.Writer,
	cashier string, lang protocol.Lang, syncWait, flushTimeout time.Duration) error {
	lctx, stop := context.WithCancel(ctx)
	linkDone := make(chan error, 1)
	go func() { linkDone <- link.Run(lctx) }()
	defer func() {
		stop()
		<-linkDone
	}()
	if cursor, err := st.FeedCursor(ctx); err == nil && cursor == 0 && syncWait > 0 {
		wctx, cancel := context.WithTimeout(ctx, syncWait)
		for wctx.Err() == nil {
			if c, _ := st.FeedCursor(ctx); c > 0 || st.Revoked() != "" {
				break
			}
			select {
			case <-wctx.Done():
			case <-time.After(50 * time.Millisecond):
			}
		}
		cancel()
		if c, _ := st.FeedCursor(ctx); c == 0 {
			fmt.Fprintf(stderr, "no snapshot from the hub within %s: the cache is empty until it arrives\n", syncWait)
		}
	}
	mode := "offline, connecting to the hub"
	if eng.Online() {
		mode = "online"
	}
	if err := ready(ctx, st, eng, stderr, mode); err != nil {
		return err
	}
	if err := serveLines(ctx, eng, link, stdin, stdout, cashier, lang); err != nil {
		return err
	}
	if ctx.Err() != nil {
		return nil
	}
	fctx, cancel := context.WithTimeout(ctx, flushTimeout)
	defer cancel()
	if err := link.Flush(fctx); err != nil {
		fmt.Fprintf(stderr, "outbox not flushed: %v; they are kept and sent at the next start\n", err)
		return nil
	}
	fmt.Fprintf(stderr, "outbox flushed: the hub has every event\n")
	return nil
}

// serveLines decides each line of in and writes one JSON decision a line to
// out, flushed once the decision is durable. Blank lines are skipped; a line
// longer than maxLine is refused as malformed.
func serveLines(ctx context.Context, eng *terminal.Engine, link *hublink.Link, in io.Reader, out io.Writer, cashier string, lang protocol.Lang) error {
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
			if jerr := json.Unmarshal([]byte(text), &il); jerr == nil && il.Cmd != "" {
				b, _ := json.Marshal(control(ctx, eng, link, n, il))
				w.Write(append(b, '\n'))
				if ferr := w.Flush(); ferr != nil {
					return fmt.Errorf("headless: write stdout: %w", ferr)
				}
				if errors.Is(err, io.EOF) {
					return nil
				}
				continue
			} else if jerr == nil {
				in.Text, in.Uses, in.OrderRef, in.IdemKey = il.Code, il.Uses, il.OrderRef, il.IdemKey
				if il.Cashier != "" {
					in.Cashier = il.Cashier
				}
			}
		}
		d := eng.Commit(ctx, in)
		if link != nil && d.Event.Seq != 0 {
			link.Kick()
		}
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

// controlLine answers a control line.
type controlLine struct {
	Line          int    `json:"line"`
	Cmd           string `json:"cmd"`
	OK            bool   `json:"ok"`
	Error         string `json:"error,omitempty"`
	Mode          string `json:"mode"`
	ForcedOffline bool   `json:"forced_offline"`
	Sync          string `json:"sync,omitempty"`
	Outbox        uint64 `json:"outbox"`
}

func control(ctx context.Context, eng *terminal.Engine, link *hublink.Link, n int, il inputLine) controlLine {
	out := controlLine{Line: n, Cmd: il.Cmd, OK: true}
	var err error
	switch il.Cmd {
	case "offline", "online":
		err = eng.ForceOffline(ctx, il.Manager, il.Cmd == "offline", il.Note)
	case "status":
	default:
		err = fmt.Errorf("unknown cmd %q: want offline, online or status", il.Cmd)
	}
	if err != nil {
		out.OK, out.Error = false, err.Error()
	}
	out.Mode, out.ForcedOffline = string(protocol.ModeOffline), eng.ForcedOffline()
	if eng.Online() {
		out.Mode = string(protocol.ModeOnline)
	}
	if link != nil {
		s := link.Status()
		out.Sync, out.Outbox = s.Describe(), s.Head-min(s.Head, s.Acked)
	}
	return out
}
