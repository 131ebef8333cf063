package ui

import (
	"fmt"
	"os"
	"strings"

	"github.com/hexiao/hexiao/protocol"
)

// text is one user-facing string in both languages. Placeholders are fmt
// verbs, the same ones in the same order in both.
type text struct{ en, zh string }

// catalogue holds every label, message and error the window shows, by key.
// Reasons come from protocol.Reason.Text; staff and backend errors that
// are meant for the user come as *UserError. A guard test checks that
// every key used in this package is here, in both languages.
var catalogue = merge(coreTexts, toolTexts, managerTexts)

func merge(maps ...map[string]text) map[string]text {
	out := map[string]text{}
	for _, m := range maps {
		for k, v := range m {
			if _, dup := out[k]; dup {
				panic("ui: text key " + k + " defined twice")
			}
			out[k] = v
		}
	}
	return out
}

// tr returns key's text in lang, formatted with args. An unknown key shows
// as itself, so a missing text is visible rather than blank.
func tr(lang protocol.Lang, key string, args ...any) string {
	t, ok := catalogue[key]
	if !ok {
		return key
	}
	s := t.en
	if lang == protocol.LangZH {
		s = t.zh
	}
	if len(args) == 0 {
		return s
	}
	return fmt.Sprintf(s, args...)
}

// SystemLang picks the window's language from the environment (LANGUAGE,
// LC_ALL, LC_MESSAGES, LANG, as POSIX orders them): Chinese locales get
// zh-CN, everything else en.
func SystemLang() protocol.Lang {
	for _, v := range []string{"LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"} {
		if s := os.Getenv(v); s != "" {
			return LangOf(s)
		}
	}
	return protocol.LangEN
}

// LangOf maps a locale name (zh_CN.UTF-8, zh-Hans, en_US) to a language
// the window has.
func LangOf(locale string) protocol.Lang {
	first, _, _ := strings.Cut(locale, ":")
	if strings.HasPrefix(strings.ToLower(first), "zh") {
		return protocol.LangZH
	}
	return protocol.LangEN
}

// errText is what the window says about err: a *UserError's own words, or
// key's text followed by nothing internal.
func errText(lang protocol.Lang, err error, key string) string {
	var ue *UserError
	if asUserError(err, &ue) {
		return ue.In(lang)
	}
	return tr(lang, key)
}
