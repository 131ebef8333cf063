package serialport

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hexiao/hexiao/internal/ptypair"
)

func TestParseSpec(t *testing.T) {
	for _, tc := range []struct {
		spec, want, err string
	}{
		{"/dev/ttyUSB0", "/dev/ttyUSB0:9600:8N1", ""},
		{"/dev/ttyS0:115200", "/dev/ttyS0:115200:8N1", ""},
		{"COM3:9600:7E1", "COM3:9600:7E1", ""},
		{"/dev/tty:odd:19200", "/dev/tty:odd:19200:8N1", ""},
		{"/dev/ttyS0:9600:8o2", "/dev/ttyS0:9600:8O2", ""},
		{"", "", "missing the device path"},
		{":9600", "", "missing the device path"},
		{"/dev/ttyS0:10", "", "baud rate"},
		{"/dev/ttyS0:99999999", "", "baud rate"},
		{"/dev/ttyS0:9600:9N1", "", "frame"},
		{"/dev/ttyS0:9600:8X1", "", "frame"},
	} {
		c, err := ParseSpec(tc.spec)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseSpec(%q) = %v, %v; want error containing %q", tc.spec, c, err, tc.err)
			}
			continue
		}
		if err != nil || c.String() != tc.want {
			t.Errorf("ParseSpec(%q) = %q, %v; want %q", tc.spec, c, err, tc.want)
		}
	}
}

func FuzzParseSpec(f *testing.F) {
	for _, s := range []string{"/dev/ttyUSB0", "COM3:9600:7E1", "a:b:c:1200", ":", "x:0:8N1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseSpec(s)
		if err != nil {
			return
		}
		// What parses prints as a spec that parses to the same config.
		again, err := ParseSpec(c.String())
		if err != nil || again != c {
			t.Fatalf("ParseSpec(%q) = %+v; its String %q parses to %+v, %v", s, c, c.String(), again, err)
		}
	})
}

func TestPortOverPty(t *testing.T) {
	pair := ptypair.New(t)
	a, err := Open(Config{Path: pair.A, Baud: 115200})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(Config{Path: pair.B, Baud: 115200})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.SetReadTimeout(50 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	var got []byte
	buf := make([]byte, 16)
	for len(got) < 4 {
		n, err := b.Read(buf)
		if err != nil {
			t.Fatalf("read after %q: %v", got, err)
		}
		got = append(got, buf[:n]...)
	}
	if string(got) != "ping" {
		t.Fatalf("got %q, want ping", got)
	}
	if n, err := b.Read(buf); !errors.Is(err, ErrTimeout) {
		t.Fatalf("idle read = %d, %v; want ErrTimeout", n, err)
	}
	pair.Unplug()
	deadline := time.Now().Add(2 * time.Second)
	for {
		_, err := b.Read(buf)
		if errors.Is(err, ErrClosed) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("read after unplug: %v, want ErrClosed", err)
		}
	}
	if _, err := Open(Config{Path: pair.A}); err == nil {
		t.Fatal("opening an unplugged device succeeded")
	}
}
