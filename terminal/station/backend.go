package station

import (
	"context"
	"errors"
	"time"

	"github.com/hexiao/hexiao/drivers/escpos"
	"github.com/hexiao/hexiao/protocol"
	"github.com/hexiao/hexiao/terminal"
	"github.com/hexiao/hexiao/terminal/sqlite"
	"github.com/hexiao/hexiao/terminal/ui"
)

// kick has the hub link send new events at once.
func (s *Station) kick() {
	s.mu.Lock()
	link := s.link
	s.mu.Unlock()
	if link != nil {
		link.Kick()
	}
}

// Prepare previews in.
func (s *Station) Prepare(ctx context.Context, in terminal.Input) (terminal.Preview, error) {
	_, eng, _, err := s.parts()
	if err != nil {
		return terminal.Preview{}, err
	}
	return eng.Prepare(ctx, in)
}

// Commit decides in through the counter (which queues the slip) and shows
// the verdict on the customer display.
func (s *Station) Commit(ctx context.Context, in terminal.Input) terminal.Decision {
	_, _, ctr, err := s.parts()
	if err != nil {
		return terminal.Decision{Preview: terminal.Preview{Reason: protocol.CannotRecord, Detail: err.Error()}, Err: err}
	}
	d := ctr.Commit(ctx, in)
	if d.Event.Seq != 0 {
		s.kick()
	}
	s.devs.show(d.Reason, d.Uses, d.Amount)
	return d
}

// Void undoes uses of one of this terminal's redemptions.
func (s *Station) Void(ctx context.Context, r terminal.VoidRequest) (terminal.Decision, error) {
	_, eng, _, err := s.parts()
	if err != nil {
		return terminal.Decision{}, err
	}
	d, err := eng.Void(ctx, r)
	if err == nil {
		s.kick()
	}
	return d, err
}

// Reprint prints a redemption's slip again.
func (s *Station) Reprint(ctx context.Context, seq uint64) error {
	_, _, ctr, err := s.parts()
	if err != nil {
		return err
	}
	if !ctr.HasPrinter() {
		return &ui.UserError{EN: "No printer is set up: choose one in Settings", ZH: "未设置打印机：请在设置中选择"}
	}
	return ctr.Reprint(ctx, seq)
}

// XReport makes and prints the X report.
func (s *Station) XReport(ctx context.Context) (ui.ReportResult, error) {
	st, _, ctr, err := s.parts()
	if err != nil {
		return ui.ReportResult{}, err
	}
	r, err := ctr.XReport(ctx)
	if err != nil {
		return ui.ReportResult{}, err
	}
	return ui.ReportResult{Report: r.Report, Printed: r.Printed, PrintErr: r.PrintErr, Names: s.names(st.Campaigns())}, nil
}

// CloseDay journals the next Z report and prints it.
func (s *Station) CloseDay(ctx context.Context, manager string) (ui.ReportResult, error) {
	st, _, ctr, err := s.parts()
	if err != nil {
		return ui.ReportResult{}, err
	}
	r, err := ctr.CloseDay(ctx, manager)
	if err != nil {
		return ui.ReportResult{}, err
	}
	s.kick()
	return ui.ReportResult{Report: r.Report, Printed: r.Printed, PrintErr: r.PrintErr, Names: s.names(st.Campaigns())}, nil
}

func (s *Station) names(camps []protocol.Campaign) map[string]string {
	m := make(map[string]string, len(camps))
	for _, c := range camps {
		m[c.ID] = c.Name
	}
	return m
}

// ForceOffline switches claims off (or back on), recording who and why.
func (s *Station) ForceOffline(ctx context.Context, manager string, off bool, note string) error {
	_, eng, _, err := s.parts()
	if err != nil {
		return err
	}
	if err := eng.ForceOffline(ctx, manager, off, note); err != nil {
		return err
	}
	s.kick()
	return nil
}

// Status is the window's status snapshot.
func (s *Station) Status(ctx context.Context) ui.Status {
	st, eng, ctr, err := s.parts()
	set := s.Settings()
	if err != nil {
		return ui.Status{StoreName: set.StoreName}
	}
	s.mu.Lock()
	link := s.link
	s.mu.Unlock()
	id := st.Identity()
	out := ui.Status{Terminal: id.Terminal, Store: id.Store, StoreName: set.StoreName,
		Online: eng.Online(), Forced: eng.ForcedOffline(), Linked: link != nil, Revoked: st.Revoked()}
	if out.StoreName == "" {
		s.mu.Lock()
		out.StoreName = s.hubName
		s.mu.Unlock()
	}
	if n, err := st.OutboxDepth(ctx); err == nil {
		out.Outbox = n
	}
	now := s.now()
	out.Day, out.Location = businessDay(now, id.Location), id.Location
	for _, ev := range s.Interrupted() {
		out.Interrupted = append(out.Interrupted, ev.Code)
	}
	out.LastContact = st.LastContact()
	out.OfflineLeft, out.OfflineCap = offlineLeft(st.Campaigns(), now.Sub(out.LastContact), out.LastContact.IsZero())
	if link != nil {
		ls := link.Status()
		out.Connected, out.Snapshot, out.Problem, out.HubVersion = ls.Connected, ls.Snapshot, ls.Problem, ls.HubVersion
	}
	if ctr.HasPrinter() {
		p, perr := s.devs.printer.get()
		switch {
		case perr != nil:
			out.Printer = &ui.UserError{EN: perr.Error(), ZH: "无法打开：" + perr.Error()}
		case p != nil:
			out.Printer = s.lastPrint()
		}
		if n, err := st.UnprintedCount(ctx, out.Day); err == nil {
			out.Unprinted = n
		}
	}
	return out
}

// offlineLeft is how long offline redemption may still go on: the largest
// time left under the offline-age caps of the campaigns that allow offline
// redemption; capped is false when one of them has no age cap.
func offlineLeft(camps []protocol.Campaign, age time.Duration, never bool) (time.Duration, bool) {
	var left time.Duration
	capped := false
	for _, c := range camps {
		if !c.Offline.Allow {
			continue
		}
		maxAge := time.Duration(c.Offline.MaxAge)
		if maxAge <= 0 {
			return 0, false
		}
		capped = true
		if never {
			continue
		}
		left = max(left, maxAge-age)
	}
	return max(left, 0), capped
}

func businessDay(t time.Time, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).Format(time.DateOnly)
}

// lastPrint says how the last print went.
func (s *Station) lastPrint() *ui.UserError {
	s.mu.Lock()
	err := s.printErr
	s.mu.Unlock()
	var pe *escpos.PrintError
	switch {
	case err == nil:
		return &ui.UserError{EN: "ready", ZH: "正常"}
	case errors.As(err, &pe):
		return &ui.UserError{EN: pe.Message("en"), ZH: pe.Message(string(protocol.LangZH))}
	}
	return &ui.UserError{EN: err.Error(), ZH: "打印失败：" + err.Error()}
}

// storeName is the store's name as the hub gave it, else its id.
func storeName(ctx context.Context, st *sqlite.Store) string {
	id := st.Identity().Store
	if rec, err := st.StoreRecord(ctx, id); err == nil && rec.Name != "" {
		return rec.Name
	}
	return id
}
