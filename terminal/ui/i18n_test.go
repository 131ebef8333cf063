package ui

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hexiao/hexiao/protocol"
)

var verb = regexp.MustCompile(`%(\[\d+\])?[-+# 0]*\d*(\.\d+)?[a-zA-Z%]`)

// TestCatalogueComplete checks every text has both languages with the same
// fmt verbs, and that every key the code uses is in the catalogue.
func TestCatalogueComplete(t *testing.T) {
	for k, v := range catalogue {
		if k == "mode." {
			continue
		}
		if v.en == "" || v.zh == "" {
			t.Errorf("%s: en %q, zh %q: both languages are needed", k, v.en, v.zh)
		}
		en, zh := verbs(v.en), verbs(v.zh)
		if strings.Join(en, " ") != strings.Join(zh, " ") {
			t.Errorf("%s: en verbs %v, zh verbs %v", k, en, zh)
		}
	}
	used := regexp.MustCompile(`\b(?:a\.t|v\.a\.t|tr\([a-zA-Z.]+,|errText\([^"\n]*)\(?\s*"([a-z_]+\.[a-z_.]+)"`)
	files, _ := filepath.Glob("*.go")
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range used.FindAllStringSubmatch(string(b), -1) {
			n++
			if _, ok := catalogue[m[1]]; !ok {
				t.Errorf("%s uses text %q, which is not in the catalogue", f, m[1])
			}
		}
	}
	if n < 100 {
		t.Errorf("found only %d uses of texts: the pattern no longer matches the code", n)
	}
}

// verbs lists the letters of s's fmt verbs, in the order they appear
// (explicit indexes such as %[2]s may reorder arguments between languages).
func verbs(s string) []string {
	var out []string
	for _, m := range verb.FindAllString(s, -1) {
		if m == "%%" {
			continue
		}
		out = append(out, m[len(m)-1:])
	}
	return out
}

func TestLangOf(t *testing.T) {
	for in, want := range map[string]protocol.Lang{
		"zh_CN.UTF-8": protocol.LangZH, "zh-Hans": protocol.LangZH, "zh_TW": protocol.LangZH,
		"en_US.UTF-8": protocol.LangEN, "C": protocol.LangEN, "fr_FR": protocol.LangEN, "zh_CN:en_US": protocol.LangZH,
	} {
		if got := LangOf(in); got != want {
			t.Errorf("LangOf(%q) = %s, want %s", in, got, want)
		}
	}
	t.Setenv("LANGUAGE", "")
	t.Setenv("LC_ALL", "")
	t.Setenv("LC_MESSAGES", "zh_CN.UTF-8")
	if got := SystemLang(); got != protocol.LangZH {
		t.Errorf("SystemLang with LC_MESSAGES=zh_CN: %s", got)
	}
}

func TestTrUnknownKeyShowsItself(t *testing.T) {
	if got := tr(protocol.LangZH, "no.such.key"); got != "no.such.key" {
		t.Errorf("got %q", got)
	}
	if got := tr(protocol.LangZH, "status.outbox", 3); got != "待上传：3" {
		t.Errorf("got %q", got)
	}
}
