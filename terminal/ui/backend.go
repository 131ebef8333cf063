package ui

import (
	"context"
	"time"

	"github.com/hexiao/hexiao/protocol"
	"github.com/hexiao/hexiao/terminal"
)

// Backend is everything the window asks of the terminal. The command wires
// it to the engine, the counter, the store, the hub link and the devices;
// tests wire it to the same parts on a temp directory. Every method may be
// called from any goroutine except the UI's (the window calls them from
// its worker), and may block on I/O.
type Backend interface {
	// Enrolled reports whether the terminal has an identity; until it has,
	// the window shows the enrollment screen and nothing else.
	Enrolled() bool
	// Enroll exchanges the enrollment link or token scanned from the hub's
	// QR code (hexiao://enroll?...) and starts the terminal.
	Enroll(ctx context.Context, link string) error

	Prepare(ctx context.Context, in terminal.Input) (terminal.Preview, error)
	Commit(ctx context.Context, in terminal.Input) terminal.Decision
	Void(ctx context.Context, r terminal.VoidRequest) (terminal.Decision, error)
	Reprint(ctx context.Context, seq uint64) error
	// XReport and CloseDay make the report, print it when a printer is
	// set, and say what happened to the print.
	XReport(ctx context.Context) (ReportResult, error)
	CloseDay(ctx context.Context, manager string) (ReportResult, error)
	ForceOffline(ctx context.Context, manager string, off bool, note string) error

	// Status is the status bar's and the sync page's snapshot.
	Status(ctx context.Context) Status
	// Day is a business day's journal (YYYY-MM-DD, the store's time zone),
	// oldest first, with each redemption's slip state.
	Day(ctx context.Context, day string) ([]LogRow, error)
	// Neighbours lists the store's other terminals' redemptions and voids
	// of day, newest first, as the hub's feed delivered them.
	Neighbours(ctx context.Context, day string) ([]Neighbour, error)

	// SignIn checks a staff member's PIN; Badge finds the staff member whose
	// badge was scanned. Both return an error the window shows as is when
	// it is a *UserError, and "wrong staff number or PIN" otherwise.
	SignIn(ctx context.Context, id, pin string) (Staff, error)
	Badge(ctx context.Context, badge string) (Staff, error)
	// HasStaff reports whether any staff member is set up; a new terminal
	// asks for the first manager.
	HasStaff(ctx context.Context) (bool, error)
	AddStaff(ctx context.Context, s Staff, pin string) error

	Settings() Settings
	// SaveSettings stores s and applies it (reopening devices); an error
	// says which setting is wrong and changes nothing.
	SaveSettings(ctx context.Context, s Settings) error
	// Ports lists the serial ports the system reports, for the settings.
	Ports() []string
}

// Status is what the status bar shows and the sync page explains.
type Status struct {
	Terminal, Store, StoreName string
	Online                     bool // the next commit claims at the hub
	Forced                     bool // a manager switched the terminal offline
	Linked                     bool // enrolled at a hub (false: offline by design)
	Connected                  bool // the MQTT link is up
	LastContact                time.Time
	Outbox                     int // events the hub has not acknowledged
	// OfflineLeft is how long offline redemptions may still go on under
	// the strictest offline-age cap of the campaigns that allow them;
	// OfflineCap is false when no campaign caps the offline age.
	OfflineLeft time.Duration
	OfflineCap  bool
	Snapshot    bool           // the first snapshot is still being pulled
	Problem     string         // why sync is stuck, in words, or ""
	Printer     *UserError     // the printer's state in words; nil without a printer
	Unprinted   int            // today's redemptions whose slip did not print
	Revoked     string         // HQ revoked this terminal: why
	Day         string         // today's business day in the store's time zone (YYYY-MM-DD)
	Location    *time.Location // the store's time zone (nil: the machine's)
	HubVersion  string         // the protocol version the hub announced
	// Interrupted lists the codes (ids) whose decision a crash or power cut
	// interrupted before its verdict: they were NOT redeemed.
	Interrupted []string
}

// LogRow is one journal event of a day, as the manager's log shows it.
type LogRow struct {
	Event      protocol.Event
	Campaign   string // the campaign's name, or its id when unknown
	Voided     int    // uses of this redemption already voided
	Printed    bool   // its slip printed
	PrintError string // why the last print failed
	// Voidable says whether a void is still allowed now (undo window,
	// settlement, uses left to void).
	Voidable bool
}

// Neighbour is a redemption or void another terminal of the store made.
type Neighbour struct {
	Terminal, Cashier string
	CodeID            string
	Campaign          string // name
	Kind              protocol.EventKind
	Uses              int
	Amount            int64
	Mode              protocol.Mode
	At                time.Time
}

// Staff is a cashier or a store manager.
type Staff struct {
	ID, Name string
	Manager  bool
}

// ReportResult is an X or Z report and what became of its print.
type ReportResult struct {
	Report   terminal.Report
	Printed  bool
	PrintErr error
	Names    map[string]string // campaign id → name
}

// Settings are the counter's own settings, kept in its data directory.
type Settings struct {
	Lang      protocol.Lang `json:"lang"`
	Sound     bool          `json:"sound"`
	Volume    float64       `json:"volume"` // 0..1
	StoreName string        `json:"store_name,omitempty"`
	// ScannerPort is a serial scanner's port spec; empty: keyboard wedge.
	ScannerPort string `json:"scanner_port,omitempty"`
	// WedgeGap and WedgeIdle tune the keyboard-wedge detector (zero: the
	// defaults, 30 ms and 80 ms).
	WedgeGap  time.Duration `json:"wedge_gap,omitempty"`
	WedgeIdle time.Duration `json:"wedge_idle,omitempty"`
	ECRPort   string        `json:"ecr_port,omitempty"`
	ECRSum    string        `json:"ecr_checksum,omitempty"` // crc16 or lrc
	Printer   string        `json:"printer,omitempty"`
	Columns   int           `json:"printer_columns,omitempty"` // 48 or 32
	Display   string        `json:"display,omitempty"`
	// AutoLock locks the manager tools after this much idle time (2 min).
	AutoLock time.Duration `json:"auto_lock,omitempty"`
}

// UserError is an error whose message is fit to show as is, in both
// languages.
type UserError struct {
	EN, ZH string
}

func (e *UserError) Error() string { return e.EN }

// In returns the message in lang.
func (e *UserError) In(lang protocol.Lang) string {
	if lang == protocol.LangZH && e.ZH != "" {
		return e.ZH
	}
	return e.EN
}
