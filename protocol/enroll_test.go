package protocol

import (
	"strings"
	"testing"
)

const testFP = "SHA256:ABCDEFGHIJKLMNOPQRSTUVWXYZ234567ABCDEFGHIJKLMNOPQRSTUVWX"

func TestEnrollLinkRoundTrip(t *testing.T) {
	for _, l := range []EnrollLink{
		{Hub: "https://hq.example:8480", Token: "ABCD-EFGH-JKMN", CA: testFP},
		{Hub: "http://127.0.0.1:8480", Token: "ABCDEFGH"},
		{Hub: "https://[2001:db8::1]:8480/", Token: "x1", CA: testFP},
	} {
		s := l.String()
		if !strings.HasPrefix(s, "hexiao://enroll?") {
			t.Fatalf("%+v → %q", l, s)
		}
		got, err := ParseEnrollLink("  " + s + "\r\n")
		if err != nil {
			t.Fatalf("parse %q: %v", s, err)
		}
		if got != l {
			t.Fatalf("round trip %q: got %+v, want %+v", s, got, l)
		}
	}
}

func TestEnrollLinkRefused(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"ABCD-EFGH", "want hexiao://enroll"},
		{"hexiao://other?hub=http://h:1&token=A", "want hexiao://enroll"},
		{"hexiao://enroll?hub=ftp://h:1&token=A", "want http://HOST:PORT"},
		{"hexiao://enroll?hub=http://u:p@h:1&token=A", "want http://HOST:PORT"},
		{"hexiao://enroll?hub=http://h:1/x&token=A", "want http://HOST:PORT"},
		{"hexiao://enroll?hub=https://h:1&token=A", "needs its CA fingerprint"},
		{"hexiao://enroll?hub=http://h:1&token=A%20B", "token has"},
		{"hexiao://enroll?hub=http://h:1", "token of 0"},
		{"hexiao://enroll?hub=http://h:1&token=A&token=B", "repeated field"},
		{"hexiao://enroll?hub=http://h:1&token=A&x=1", "unexpected"},
		{"hexiao://enroll?hub=https://h:1&token=A&ca=MD5:xx", "want SHA256:"},
		{"hexiao://enroll?hub=http://h:1&token=" + strings.Repeat("A", 1100), "longer than"},
	} {
		_, err := ParseEnrollLink(c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseEnrollLink(%.60q) = %v, want an error with %q", c.in, err, c.want)
		}
	}
}

func FuzzParseEnrollLink(f *testing.F) {
	f.Add(EnrollLink{Hub: "https://hq.example:8480", Token: "ABCD-EFGH", CA: testFP}.String())
	f.Add("hexiao://enroll?hub=http://127.0.0.1:1&token=A")
	f.Add("hexiao://enroll?%zz")
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ParseEnrollLink(s)
		if err != nil {
			return
		}
		// Whatever parses is valid and survives its own text form.
		if err := l.Validate(); err != nil {
			t.Fatalf("parsed %q but invalid: %v", s, err)
		}
		back, err := ParseEnrollLink(l.String())
		if err != nil || back != l {
			t.Fatalf("%q → %+v → %q → %+v, %v", s, l, l.String(), back, err)
		}
	})
}
