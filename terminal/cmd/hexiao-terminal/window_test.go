package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"github.com/hexiao/hexiao/protocol"
	"github.com/hexiao/hexiao/terminal/internal/termtest"
)

// xserver is a virtual X server (Xvfb) on a display it picked itself.
type xserver struct {
	display string
}

func startXvfb(t *testing.T) *xserver {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("Xvfb", "-displayfd", "3", "-screen", "0", "1024x700x24", "-nolisten", "tcp")
	cmd.ExtraFiles = []*os.File{w}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatalf("start Xvfb (make test installs it: apt-get install xvfb): %v", err)
	}
	w.Close()
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	line, err := bufio.NewReader(r).ReadString('\n')
	r.Close()
	if err != nil {
		t.Fatalf("Xvfb gave no display number: %v", err)
	}
	return &xserver{display: ":" + strings.TrimSpace(line)}
}

func (x *xserver) run(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "DISPLAY="+x.display)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// typeKeys types s into the focused window, delay between keys: 8 ms is a
// scanner gun's burst, 150 ms a person.
func (x *xserver) typeKeys(t *testing.T, s string, delay time.Duration) {
	t.Helper()
	x.run(t, "xdotool", "type", "--delay", strconv.Itoa(int(delay/time.Millisecond)), s)
}

func (x *xserver) key(t *testing.T, keys ...string) {
	t.Helper()
	x.run(t, "xdotool", append([]string{"key"}, keys...)...)
}

// signIn types a staff number and a PIN as a person does, each with Enter.
func (x *xserver) signIn(t *testing.T, id, pin string) {
	t.Helper()
	for _, s := range []string{id, pin} {
		x.typeKeys(t, s, 150*time.Millisecond)
		x.key(t, "Return")
	}
}

// screenshot saves the screen as PNG and returns it decoded.
func (x *xserver) screenshot(t *testing.T, path string) image.Image {
	t.Helper()
	x.run(t, "import", "-window", "root", path)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot %s: %v", path, err)
	}
	return img
}

// logWatcher collects the window's log lines and waits for one.
type logWatcher struct {
	mu    sync.Mutex
	lines []string
	grew  chan struct{}
}

func (l *logWatcher) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		l.mu.Lock()
		l.lines = append(l.lines, sc.Text())
		l.mu.Unlock()
		select {
		case l.grew <- struct{}{}:
		default:
		}
	}
}

// wait returns the first line after skip lines that matches re.
func (l *logWatcher) wait(t *testing.T, re *regexp.Regexp, skip int) (string, int) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		l.mu.Lock()
		for i := skip; i < len(l.lines); i++ {
			if re.MatchString(l.lines[i]) {
				line := l.lines[i]
				l.mu.Unlock()
				return line, i + 1
			}
		}
		all := strings.Join(l.lines, "\n")
		l.mu.Unlock()
		select {
		case <-l.grew:
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			t.Fatalf("the window never logged %s; its log:\n%s", re, all)
		}
	}
}

// green, red and amber tell the verdict colours apart in a screenshot.
func colourAt(img image.Image, x, y int) string {
	r, g, b, _ := img.At(x, y).RGBA()
	r, g, b = r>>8, g>>8, b>>8
	switch {
	case g > 0x60 && r < 0x40 && b < 0x60:
		return "green"
	case r > 0xa0 && g < 0x50 && b < 0x50:
		return "red"
	case r > 0xe0 && g > 0x90 && g < 0xc0 && b < 0x50:
		return "amber"
	}
	return fmt.Sprintf("#%02x%02x%02x", r, g, b)
}

var verdictLine = regexp.MustCompile(`msg="verdict shown" kind=(\w+) reason=(\w*) latency_ms=([0-9.]+)`)

// TestWindowUnderXvfb runs the real binary on a virtual X server, signs a
// cashier in and scans codes through simulated keystrokes at a scanner
// gun's pace, in English and then Chinese, and checks the screen's colour
// for each verdict. Screenshots go to HEXIAO_SCREENSHOTS (the README's
// docs/screenshots) when set, else to a temp dir.
func TestWindowUnderXvfb(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Xvfb and the real window")
	}
	shots := os.Getenv("HEXIAO_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	bin := filepath.Join(t.TempDir(), "hexiao-terminal")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	c1 := termtest.Campaign("C1")
	c1.Name = "视频会员月卡"
	snap := termtest.Snapshot{Campaigns: []protocol.Campaign{c1}}
	for n := 1; n <= 4; n++ {
		snap.Codes = append(snap.Codes, termtest.SecretCode(n, "C1", 1))
	}
	data := termtest.Dir(t, snap)
	// Linked to a hub that is down: the window is offline and says so.
	hub := `{"hub":"http://127.0.0.1:1","mqtt_url":"mqtt://127.0.0.1:1","terminal":"T-SH001-1","mqtt_password":"x"}`
	if err := os.WriteFile(filepath.Join(data, "hub.json"), []byte(hub), 0o600); err != nil {
		t.Fatal(err)
	}
	add := exec.Command(bin, "staff", "add", "--data", data, "--id", "M1", "--name", "李娜", "--role", "manager", "--pin-stdin")
	add.Stdin = strings.NewReader("2580\n")
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("staff add: %v\n%s", err, out)
	}
	x := startXvfb(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--data", data, "--lang", "en", "--size", "1024x700")
	cmd.Env = append(os.Environ(), "DISPLAY="+x.display, "LANG=en_US.UTF-8")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logs := &logWatcher{grew: make(chan struct{}, 1)}
	go logs.read(stderr)
	defer func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Errorf("the window did not exit within 10 s of SIGINT")
			cmd.Process.Kill()
		}
	}()
	_, seen := logs.wait(t, regexp.MustCompile(`msg="window open"`), 0)
	// Wait for the window to be mapped, then put the pointer over it (no
	// window manager: keyboard focus follows the pointer).
	for i := 0; ; i++ {
		search := exec.Command("xdotool", "search", "--onlyvisible", "--name", "Hexiao")
		search.Env = append(os.Environ(), "DISPLAY="+x.display)
		out, err := search.Output()
		if err == nil && len(out) > 0 {
			break
		}
		if i > 100 {
			t.Fatalf("no Hexiao window on %s", x.display)
		}
		time.Sleep(100 * time.Millisecond)
	}
	x.run(t, "xdotool", "mousemove", "500", "400")
	time.Sleep(500 * time.Millisecond)

	x.signIn(t, "M1", "2580")
	_, seen = logs.wait(t, regexp.MustCompile(`msg="signed in"`), seen)
	time.Sleep(300 * time.Millisecond)
	img := x.screenshot(t, filepath.Join(shots, "scan-en.png"))
	if got := colourAt(img, 512, 20); got != "amber" {
		t.Errorf("the offline banner is %s at (512,20), want amber", got)
	}

	for i, lang := range []string{"en", "zh"} {
		if lang == "zh" {
			x.key(t, "F4")
			time.Sleep(300 * time.Millisecond)
			x.screenshot(t, filepath.Join(shots, "scan-zh.png"))
		}
		code, _ := termtest.Secret(1 + i)
		for _, want := range []string{"accepted", "rejected"} {
			x.typeKeys(t, code, 8*time.Millisecond)
			x.key(t, "Return")
			var line string
			line, seen = logs.wait(t, verdictLine, seen)
			m := verdictLine.FindStringSubmatch(line)
			if m[1] != want {
				t.Fatalf("%s scan of %s: verdict %s (%s), want %s", lang, code, m[1], m[2], want)
			}
			t.Logf("%s %s: scan to verdict %s ms (%s)", lang, want, m[3], m[2])
			time.Sleep(300 * time.Millisecond)
			img := x.screenshot(t, filepath.Join(shots, want+"-"+lang+".png"))
			wantColour := map[string]string{"accepted": "green", "rejected": "red"}[want]
			if got := colourAt(img, 512, 150); got != wantColour {
				t.Errorf("%s %s: the window is %s at (512,150), want %s", lang, want, got, wantColour)
			}
			time.Sleep(1600 * time.Millisecond) // past the repeat window
		}
		if lang == "en" {
			// A customer's screenshot on the clipboard, pasted with Ctrl+V.
			code, _ := termtest.Secret(3)
			png := filepath.Join(t.TempDir(), "screenshot.png")
			if err := os.WriteFile(png, qrPNG(t, code), 0o600); err != nil {
				t.Fatal(err)
			}
			xclip := exec.Command("xclip", "-selection", "clipboard", "-t", "image/png", "-i", png)
			xclip.Env = append(os.Environ(), "DISPLAY="+x.display)
			if err := xclip.Start(); err != nil { // it stays to serve the selection
				t.Fatalf("xclip (make test installs it): %v", err)
			}
			defer func() { xclip.Process.Kill(); xclip.Wait() }()
			time.Sleep(300 * time.Millisecond)
			x.key(t, "ctrl+v")
			var line string
			line, seen = logs.wait(t, verdictLine, seen)
			if m := verdictLine.FindStringSubmatch(line); m[1] != "accepted" {
				t.Fatalf("pasted screenshot of %s: %s (%s), want accepted", code, m[1], m[2])
			}
			time.Sleep(1600 * time.Millisecond)
		}
		// The manager's log of the day, behind F2 and a PIN.
		x.key(t, "F2")
		time.Sleep(300 * time.Millisecond)
		x.signIn(t, "M1", "2580")
		_, seen = logs.wait(t, regexp.MustCompile(`msg="manager tools unlocked"`), seen)
		x.key(t, "alt+1")
		time.Sleep(700 * time.Millisecond)
		x.screenshot(t, filepath.Join(shots, "manager-log-"+lang+".png"))
		x.key(t, "Escape")
		time.Sleep(300 * time.Millisecond)
	}
}

func TestWindowNeedsADisplay(t *testing.T) {
	t.Setenv("DISPLAY", "")
	t.Setenv("WAYLAND_DISPLAY", "")
	_, _, err := runArgs(t, "--data", t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "no display") {
		t.Fatalf("got %v, want a no-display error", err)
	}
}

// qrPNG draws text as a QR code on a white picture.
func qrPNG(t *testing.T, text string) []byte {
	t.Helper()
	m, err := qrcode.NewQRCodeWriter().Encode(text, gozxing.BarcodeFormat_QR_CODE, 300, 300, nil)
	if err != nil {
		t.Fatal(err)
	}
	img := image.NewGray(image.Rect(0, 0, 400, 400))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	for y := range 300 {
		for x := range 300 {
			if m.Get(x, y) {
				img.Pix[(50+y)*img.Stride+50+x] = 0
			}
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
