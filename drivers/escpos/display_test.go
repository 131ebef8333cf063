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
	want := "\x1b@\x0c\x1bQA???? OK\r\x1bQB35.00\r"
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
