package escpos

import "fmt"

// State is a printer's condition in one word, or why it could not be
// used at all.
type State int

const (
	StateUnknown     State = iota // a write-only device cannot say
	StateReady                    // the printer said it can print
	StatePaperLow                 // near end: it prints, the roll needs changing soon
	StatePaperOut                 // paper end
	StateCoverOpen                // the cover is open
	StateOffline                  // offline for another cause (feeding, waiting)
	StateError                    // cutter, mechanical or unrecoverable error
	StateNoAnswer                 // no answer to DLE EOT within the timeout
	StateGone                     // the device is not there (unplugged, power off)
	StateWriteFailed              // the document could not be (all) written
	StateBadAnswer                // the printer answered DLE EOT with bytes that are no status (wrong baud rate?)
)

var stateNames = [...]string{"unknown", "ready", "paper_low", "paper_out", "cover_open", "offline", "error", "no_answer", "gone", "write_failed", "bad_answer"}

var stateMessages = [...][2]string{ // en, zh-CN
	{"printer state unknown", "打印机状态未知"},
	{"printer ready", "打印机就绪"},
	{"printer paper is running low", "打印纸将用尽"},
	{"printer is out of paper", "打印机缺纸"},
	{"printer cover is open", "打印机盖未关"},
	{"printer is offline", "打印机离线"},
	{"printer error (cutter or mechanism)", "打印机故障（切刀或机构）"},
	{"printer does not answer: is it on and connected?", "打印机无应答：请检查电源和连接"},
	{"printer is not connected", "打印机未连接"},
	{"sending to the printer failed", "发送到打印机失败"},
	{"printer answers garbage: check its baud rate and that it speaks ESC/POS", "打印机应答异常：请检查波特率及是否支持 ESC/POS"},
}

// String is the state as a word: ready, paper_low, paper_out, cover_open,
// offline, error, no_answer, gone, write_failed, bad_answer or unknown.
func (s State) String() string {
	if s < 0 || int(s) >= len(stateNames) {
		return fmt.Sprintf("State(%d)", int(s))
	}
	return stateNames[s]
}

// Message says the state in words, in lang ("zh-CN" or "en").
func (s State) Message(lang string) string {
	if s < 0 || int(s) >= len(stateMessages) {
		s = StateUnknown
	}
	if lang == "zh-CN" {
		return stateMessages[s][1]
	}
	return stateMessages[s][0]
}

// Printable reports whether a document may be sent in this state: ready,
// paper low, or unknown (a write-only device).
func (s State) Printable() bool {
	return s == StateReady || s == StatePaperLow || s == StateUnknown
}

// Status is what a printer says of itself through DLE EOT 1 (printer),
// 2 (offline cause), 3 (error cause) and 4 (paper sensor).
type Status struct {
	Known       bool // false: a write-only device cannot say
	Offline     bool // DLE EOT 1 bit 3
	CoverOpen   bool // DLE EOT 2 bit 2
	PaperOut    bool // DLE EOT 2 bit 5, or DLE EOT 4 bits 5-6
	PaperLow    bool // DLE EOT 4 bits 2-3
	Error       bool // DLE EOT 2 bit 6, or any DLE EOT 3 cause
	Cutter      bool // DLE EOT 3 bit 3: autocutter error
	Mechanical  bool // DLE EOT 3 bit 2
	Fatal       bool // DLE EOT 3 bit 5: unrecoverable
	AutoRecover bool // DLE EOT 3 bit 6: clears by itself (head too hot)
}

// State is the status in one word, the most pressing cause first: cover
// open, paper out, error, offline, paper low, ready.
func (s Status) State() State {
	switch {
	case !s.Known:
		return StateUnknown
	case s.CoverOpen:
		return StateCoverOpen
	case s.PaperOut:
		return StatePaperOut
	case s.Error:
		return StateError
	case s.Offline:
		return StateOffline
	case s.PaperLow:
		return StatePaperLow
	}
	return StateReady
}

// String is the state's word.
func (s Status) String() string { return s.State().String() }

// Ready reports whether a print can go ahead.
func (s Status) Ready() bool { return s.State().Printable() }

// Message says the status in words, in lang, naming an error's cause.
func (s Status) Message(lang string) string {
	m := s.State().Message(lang)
	if s.State() != StateError {
		return m
	}
	zh := lang == "zh-CN"
	switch {
	case s.Cutter && zh:
		return "打印机切刀故障"
	case s.Cutter:
		return "printer cutter error: clear the paper jam"
	case s.Fatal && zh:
		return "打印机严重故障，请重启或维修"
	case s.Fatal:
		return "printer has an unrecoverable error: restart or service it"
	case s.AutoRecover && zh:
		return "打印头过热，请稍候"
	case s.AutoRecover:
		return "printer head is too hot: wait a moment"
	}
	return m
}

// isStatusByte reports whether b can be an answer to DLE EOT: bits 1 and
// 4 set, bits 0 and 7 clear. XON (0x11), XOFF (0x13) and the bytes of
// an automatic status back (ASB: bit 1 or bit 4 clear) are not.
func isStatusByte(b byte) bool { return b&0x93 == 0x12 }

// DecodeStatus reads the answers to DLE EOT 1, 2, 3 and 4 (one byte
// each). A byte that is not a status byte is an error.
func DecodeStatus(printer, offline, errCause, paper byte) (Status, error) {
	for i, b := range [...]byte{printer, offline, errCause, paper} {
		if !isStatusByte(b) {
			return Status{}, fmt.Errorf("printer answered %#02x to DLE EOT %d, not a status byte", b, [...]int{1, 2, 3, 4}[i])
		}
	}
	st := Status{Known: true,
		Offline:     printer&0x08 != 0,
		CoverOpen:   offline&0x04 != 0,
		PaperOut:    offline&0x20 != 0 || paper&0x60 != 0,
		PaperLow:    paper&0x0c != 0,
		Cutter:      errCause&0x08 != 0,
		Mechanical:  errCause&0x04 != 0,
		Fatal:       errCause&0x20 != 0,
		AutoRecover: errCause&0x40 != 0,
	}
	st.Error = offline&0x40 != 0 || st.Cutter || st.Mechanical || st.Fatal || st.AutoRecover
	return st, nil
}
