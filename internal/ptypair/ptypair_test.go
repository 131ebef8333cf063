package ptypair

import (
	"bytes"
	"os"
	"testing"
)

func TestPairCarriesBytesAndUnplugs(t *testing.T) {
	p := New(t)
	a, err := os.OpenFile(p.A, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := os.OpenFile(p.B, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	want := []byte("\x02hello\x03")
	if _, err := a.Write(want); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(want))
	n := 0
	for n < len(want) {
		m, err := b.Read(got[n:])
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		n += m
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	p.Unplug()
	if _, err := os.Stat(p.A); !os.IsNotExist(err) {
		t.Fatalf("after unplug, stat %s: %v, want not exist", p.A, err)
	}
	p.Plug()
	if _, err := os.Stat(p.B); err != nil {
		t.Fatalf("after plug, stat %s: %v", p.B, err)
	}
}
