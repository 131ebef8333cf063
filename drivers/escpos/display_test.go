package escpos

import (
	"bytes"
	"testing"
	"time"

	"github.com/hexiao/hexiao/drivers/serialport"
	"github.com/hexiao/hexiao/internal/ptypair"
)

func TestDisplay(t *testing.T) {
	var b bytes.Buffer
	if err := NewDisplay(&b).Show("Accepted ¥35.00", "Coffee voucher with a long name"); err != nil {
		t.Fatal(err)
	}
	want := "\x1b@\x0c\x1bQAAccepted ?35.00\r\x1bQBCoffee voucher with \r"
	if b.String() != want {
		t.Errorf("display got %q, want %q", b.String(), want)
	}
	b.Reset()
	NewDisplay(&b).Show("a\x1b@\rb", "")
	if want := "\x1b@\x0c\x1bQAa@b\r\x1bQB\r"; b.String() != want {
		t.Errorf("display got %q, want %q", b.String(), want)
	}
}

func TestDisplayOverPty(t *testing.T) {
	pair := ptypair.New(t)
	d, err := OpenDisplay(pair.B)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	r, err := serialport.Open(serialport.Config{Path: pair.A})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := d.Show("核销成功 OK", "35.00"); err != nil {
		t.Fatal(err)
	}
	readDisplay(t, r, "\x1b@\x0c\x1bQA???? OK\r\x1bQB35.00\r")
}

// readDisplay reads what a display sent until want's length came in.
func readDisplay(t *testing.T, r *serialport.Port, want string) {
	t.Helper()
	r.SetReadTimeout(2 * time.Second)
	var got []byte
	buf := make([]byte, 64)
	for len(got) < len(want) {
		n, err := r.Read(buf)
		if err != nil {
			t.Fatalf("read after %q: %v", got, err)
		}
		got = append(got, buf[:n]...)
	}
	if string(got) != want {
		t.Errorf("display got %q, want %q", got, want)
	}
}

// A display unplugged and plugged back shows again without being
// reopened by its owner; a closed display shows nothing.
func TestDisplayReplugged(t *testing.T) {
	pair := ptypair.New(t)
	d, err := OpenDisplay(pair.B)
	if err != nil {
		t.Fatal(err)
	}
	pair.Unplug()
	var failed bool
	for range 3 { // the first write may still land in the kernel's buffer
		if d.Show("ACCEPTED", "35.00") != nil {
			failed = true
			break
		}
	}
	if !failed {
		t.Fatal("Show on an unplugged display never failed")
	}
	pair.Plug()
	r, err := serialport.Open(serialport.Config{Path: pair.A})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := d.Show("ACCEPTED", "35.00"); err != nil {
		t.Fatalf("Show after plugging back: %v", err)
	}
	readDisplay(t, r, "\x1b@\x0c\x1bQAACCEPTED\r\x1bQB35.00\r")
	d.Close()
	if err := d.Show("x", "y"); err == nil {
		t.Error("Show after Close succeeded")
	}
}
