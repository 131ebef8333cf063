package guard

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// module is the module path the rules below are written for. TestModulePath
// fails if go.mod says otherwise, so a rename cannot leave the rules
// silently matching nothing.
const module = "github.com/hexiao/hexiao"

const (
	goSemver = "github.com/coreos/go-semver"
	goSerial = "go.bug.st/serial"
	pahoV3   = "github.com/eclipse/paho.mqtt.golang"
	pahoV5   = "github.com/eclipse/paho.golang"
)

// pkg is what the rules need to know about one package, as reported by
// go list -deps -json: its direct (non-test) imports and its transitive
// (non-test) dependencies.
type pkg struct {
	ImportPath string
	Name       string
	Dir        string
	Standard   bool
	DepOnly    bool
	Imports    []string
	Deps       []string

	GoFiles        []string
	CgoFiles       []string
	IgnoredGoFiles []string
}

// rule is one constraint on the import graph.
type rule struct {
	name string
	// applies reports whether the rule constrains the package at this
	// import path.
	applies func(importPath string) bool
	// direct restricts the rule to a package's own imports; otherwise it
	// covers every transitive dependency.
	direct bool
	// forbidden reports whether dep (a standard-library package when std)
	// breaks the rule.
	forbidden func(dep string, std bool) bool
}

// under returns a predicate matching each of the given import paths and
// every path below them, like the go command's "path/..." pattern.
func under(prefixes ...string) func(string) bool {
	return func(p string) bool {
		for _, prefix := range prefixes {
			if p == prefix || strings.HasPrefix(p, prefix+"/") {
				return true
			}
		}
		return false
	}
}

func except(match, exempt func(string) bool) func(string) bool {
	return func(p string) bool { return match(p) && !exempt(p) }
}

func anyDep(match func(string) bool) func(string, bool) bool {
	return func(dep string, _ bool) bool { return match(dep) }
}

// rules returns the import rules of the module at path mod.
func rules(mod string) []rule {
	protocol := under(mod + "/protocol")
	return []rule{
		{
			name:    "protocol depends only on the standard library and go-semver",
			applies: protocol,
			forbidden: func(dep string, std bool) bool {
				return !std && !under(goSemver)(dep) && !protocol(dep)
			},
		},
		{
			name:      "protocol depends on no other package of the module",
			applies:   protocol,
			forbidden: anyDep(except(under(mod), protocol)),
		},
		{
			name:      "hub never depends on terminal, drivers or Fyne",
			applies:   under(mod + "/hub"),
			forbidden: anyDep(under(mod+"/terminal", mod+"/drivers", "fyne.io")),
		},
		{
			name:    "terminal/ui and terminal/counter never depend on SQL or MQTT",
			applies: under(mod+"/terminal/ui", mod+"/terminal/counter"),
			forbidden: anyDep(under(
				"database/sql",
				"github.com/mattn/go-sqlite3",
				"modernc.org/sqlite",
				pahoV3,
				pahoV5,
				"github.com/mochi-mqtt",
			)),
		},
		{
			name:      "drivers never depend on terminal or hub",
			applies:   under(mod + "/drivers"),
			forbidden: anyDep(under(mod+"/terminal", mod+"/hub")),
		},
		{
			name:      "only drivers/serialport imports go.bug.st/serial",
			applies:   except(under(mod), under(mod+"/drivers/serialport")),
			direct:    true,
			forbidden: anyDep(under(goSerial)),
		},
		{
			// The hub's mqttlink may use an MQTT client for external brokers.
			name:      "in terminal, only terminal/hublink imports paho",
			applies:   except(under(mod+"/terminal"), under(mod+"/terminal/hublink")),
			direct:    true,
			forbidden: anyDep(under(pahoV3, pahoV5)),
		},
	}
}

// violation is one package breaking one rule through one dependency.
type violation struct {
	rule string
	pkg  string
	dep  string
	// chain is the import path from pkg to dep, both included, when one
	// could be traced through the packages given.
	chain []string
}

func (v violation) String() string {
	path := v.pkg + " -> " + v.dep
	if len(v.chain) > 2 {
		path = strings.Join(v.chain, " -> ")
	}
	return v.rule + ": " + path
}

// isStd reports whether the package at path p is in the standard library:
// as go list says when it listed p, else by the go command's own rule that
// standard import paths have no dot in their first element.
func isStd(byPath map[string]*pkg, p string) bool {
	if r, ok := byPath[p]; ok {
		return r.Standard
	}
	first, _, _ := strings.Cut(p, "/")
	return !strings.Contains(first, ".")
}

// check applies rs to pkgs and returns every violation, sorted. It does no
// I/O, so tests can feed it a made-up graph.
func check(pkgs []pkg, rs []rule) []violation {
	byPath := make(map[string]*pkg, len(pkgs))
	for i := range pkgs {
		byPath[pkgs[i].ImportPath] = &pkgs[i]
	}
	var vs []violation
	for _, p := range pkgs {
		for _, r := range rs {
			if !r.applies(p.ImportPath) {
				continue
			}
			deps := p.Deps
			if r.direct {
				deps = p.Imports
			}
			for _, dep := range deps {
				if !r.forbidden(dep, isStd(byPath, dep)) {
					continue
				}
				v := violation{rule: r.name, pkg: p.ImportPath, dep: dep}
				if r.direct {
					v.chain = []string{p.ImportPath, dep}
				} else {
					v.chain = importChain(byPath, p.ImportPath, dep)
				}
				vs = append(vs, v)
			}
		}
	}
	slices.SortFunc(vs, func(a, b violation) int {
		return strings.Compare(a.String(), b.String())
	})
	return vs
}

// importChain returns a shortest import path from one package to another
// through the direct imports in byPath, or nil when there is none.
func importChain(byPath map[string]*pkg, from, to string) []string {
	prev := map[string]string{from: ""}
	queue := []string{from}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		if cur == to {
			var chain []string
			for p := to; p != ""; p = prev[p] {
				chain = append(chain, p)
			}
			slices.Reverse(chain)
			return chain
		}
		r, ok := byPath[cur]
		if !ok {
			continue
		}
		for _, next := range r.Imports {
			if _, seen := prev[next]; !seen {
				prev[next] = cur
				queue = append(queue, next)
			}
		}
	}
	return nil
}

// docProblem says what is wrong with a package whose doc comments are in
// the files named, or "" when there is exactly one.
func docProblem(importPath string, docFiles []string) string {
	switch len(docFiles) {
	case 1:
		return ""
	case 0:
		return fmt.Sprintf("%s: got no package doc comment, want exactly one (add a doc.go)", importPath)
	default:
		return fmt.Sprintf("%s: got package doc comments in %d files %v, want exactly one", importPath, len(docFiles), docFiles)
	}
}

// goList runs go list -deps -json ./... from the module root and returns
// every package it reports: the module's own and all their dependencies.
func goList(t *testing.T) []pkg {
	t.Helper()
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("find the go command: %v", err)
	}
	gomod := strings.TrimSpace(string(runGo(t, goCmd, "", "env", "GOMOD")))
	if gomod == "" || gomod == "/dev/null" {
		t.Fatalf("go env GOMOD: got %q, want the path of go.mod", gomod)
	}
	root := filepath.Dir(gomod)
	if got := strings.TrimSpace(string(runGo(t, goCmd, root, "list", "-m"))); got != module {
		t.Fatalf("module path: got %q, want %q (update the guard rules)", got, module)
	}
	out := runGo(t, goCmd, root, "list", "-deps", "-json", "./...")
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		err := dec.Decode(&p)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("decode go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func runGo(t *testing.T, goCmd, dir string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(goCmd, args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return out
}

// modulePackages returns the packages of the module itself, failing if
// there are none or protocol is missing, so the guards cannot pass by
// looking at nothing.
func modulePackages(t *testing.T, pkgs []pkg) []pkg {
	t.Helper()
	var own []pkg
	for _, p := range pkgs {
		if !p.DepOnly && under(module)(p.ImportPath) {
			own = append(own, p)
		}
	}
	if !slices.ContainsFunc(own, func(p pkg) bool { return p.ImportPath == module+"/protocol" }) {
		t.Fatalf("go list ./...: got %d module packages without %s/protocol, want it listed", len(own), module)
	}
	return own
}

func TestImports(t *testing.T) {
	pkgs := goList(t)
	modulePackages(t, pkgs)
	for _, v := range check(pkgs, rules(module)) {
		t.Errorf("got import %s, want none", v)
	}
}

func TestPackageDocs(t *testing.T) {
	for _, p := range modulePackages(t, goList(t)) {
		var files []string
		for _, f := range slices.Concat(p.GoFiles, p.CgoFiles, p.IgnoredGoFiles) {
			if !strings.HasSuffix(f, "_test.go") && !slices.Contains(files, f) {
				files = append(files, f)
			}
		}
		var docFiles []string
		fset := token.NewFileSet()
		for _, f := range files {
			af, err := parser.ParseFile(fset, filepath.Join(p.Dir, f), nil, parser.PackageClauseOnly|parser.ParseComments)
			if err != nil {
				t.Errorf("%s: %v", p.ImportPath, err)
				continue
			}
			// A file of another package (a //go:build ignore generator,
			// say) does not document this one.
			if af.Name.Name != p.Name {
				continue
			}
			if af.Doc != nil && strings.TrimSpace(af.Doc.Text()) != "" {
				docFiles = append(docFiles, f)
			}
		}
		if msg := docProblem(p.ImportPath, docFiles); msg != "" {
			t.Error(msg)
		}
	}
}

// Tests of the checker itself, on made-up graphs.

const (
	fakeProtocol = module + "/protocol"
	fakeHub      = module + "/hub"
	fakeTerminal = module + "/terminal"
	fakeUI       = module + "/terminal/ui"
	fakeHublink  = module + "/terminal/hublink"
	fakeSerial   = module + "/drivers/serialport"
	fakeScanner  = module + "/drivers/scanner"
)

func std(paths ...string) []pkg {
	var ps []pkg
	for _, p := range paths {
		ps = append(ps, pkg{ImportPath: p, Standard: true})
	}
	return ps
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name string
		pkgs []pkg
		want []string // violation strings, sorted
	}{
		{
			name: "protocol on stdlib and go-semver",
			pkgs: append(std("fmt", "errors"),
				pkg{ImportPath: fakeProtocol, Imports: []string{"fmt", goSemver + "/semver"}, Deps: []string{"errors", "fmt", goSemver + "/semver"}},
				pkg{ImportPath: goSemver + "/semver", Imports: []string{"fmt"}, Deps: []string{"fmt"}},
			),
		},
		{
			name: "protocol on stdlib and go-semver, deps not listed",
			pkgs: []pkg{{ImportPath: fakeProtocol, Deps: []string{"fmt", goSemver + "/semver"}}},
		},
		{
			name: "protocol subpackage on protocol",
			pkgs: []pkg{{ImportPath: fakeProtocol + "/wire", Imports: []string{fakeProtocol}, Deps: []string{fakeProtocol, "fmt"}}},
		},
		{
			name: "protocol on sqlite",
			pkgs: append(std("database/sql"),
				pkg{ImportPath: fakeProtocol, Imports: []string{"github.com/mattn/go-sqlite3"}, Deps: []string{"database/sql", "github.com/mattn/go-sqlite3"}},
				pkg{ImportPath: "github.com/mattn/go-sqlite3", Imports: []string{"database/sql"}, Deps: []string{"database/sql"}},
			),
			want: []string{
				"protocol depends only on the standard library and go-semver: " + fakeProtocol + " -> github.com/mattn/go-sqlite3",
			},
		},
		{
			name: "protocol on hub",
			pkgs: []pkg{
				{ImportPath: fakeProtocol, Imports: []string{fakeHub}, Deps: []string{fakeHub}},
				{ImportPath: fakeHub},
			},
			want: []string{
				"protocol depends on no other package of the module: " + fakeProtocol + " -> " + fakeHub,
				"protocol depends only on the standard library and go-semver: " + fakeProtocol + " -> " + fakeHub,
			},
		},
		{
			name: "hub reaches fyne and drivers through a chain",
			pkgs: []pkg{
				{ImportPath: fakeHub + "/web", Imports: []string{fakeProtocol, "example.com/charts"}, Deps: []string{fakeProtocol, "example.com/charts", "fyne.io/fyne/v2", fakeScanner}},
				{ImportPath: "example.com/charts", Imports: []string{"fyne.io/fyne/v2", fakeScanner}, Deps: []string{"fyne.io/fyne/v2", fakeScanner}},
				{ImportPath: fakeProtocol},
				{ImportPath: "fyne.io/fyne/v2"},
				{ImportPath: fakeScanner},
			},
			want: []string{
				"hub never depends on terminal, drivers or Fyne: " + fakeHub + "/web -> example.com/charts -> fyne.io/fyne/v2",
				"hub never depends on terminal, drivers or Fyne: " + fakeHub + "/web -> example.com/charts -> " + fakeScanner,
			},
		},
		{
			name: "hub on terminal",
			pkgs: []pkg{{ImportPath: fakeHub, Imports: []string{fakeTerminal}, Deps: []string{fakeTerminal}}},
			want: []string{"hub never depends on terminal, drivers or Fyne: " + fakeHub + " -> " + fakeTerminal},
		},
		{
			name: "terminal/ui on database/sql and mochi",
			pkgs: append(std("database/sql/driver"),
				pkg{ImportPath: fakeUI + "/views", Deps: []string{"database/sql/driver", "github.com/mochi-mqtt/server/v2", "fyne.io/fyne/v2"}},
			),
			want: []string{
				"terminal/ui and terminal/counter never depend on SQL or MQTT: " + fakeUI + "/views -> database/sql/driver",
				"terminal/ui and terminal/counter never depend on SQL or MQTT: " + fakeUI + "/views -> github.com/mochi-mqtt/server/v2",
			},
		},
		{
			name: "terminal on sqlite and fyne is fine",
			pkgs: []pkg{{ImportPath: fakeTerminal + "/sqlite", Deps: []string{"database/sql", "modernc.org/sqlite"}}},
		},
		{
			name: "drivers on terminal",
			pkgs: []pkg{{ImportPath: fakeScanner, Imports: []string{fakeTerminal}, Deps: []string{fakeProtocol, fakeTerminal}}},
			want: []string{"drivers never depend on terminal or hub: " + fakeScanner + " -> " + fakeTerminal},
		},
		{
			name: "serial and paho from their owners",
			pkgs: []pkg{
				{ImportPath: fakeSerial, Imports: []string{goSerial}, Deps: []string{goSerial}},
				{ImportPath: fakeHublink, Imports: []string{pahoV3}, Deps: []string{pahoV3}},
				// Indirect use through the owner is fine.
				{ImportPath: fakeScanner, Imports: []string{fakeSerial}, Deps: []string{fakeSerial, goSerial}},
			},
		},
		{
			name: "serial and paho imported elsewhere",
			pkgs: []pkg{
				{ImportPath: fakeScanner, Imports: []string{goSerial}, Deps: []string{goSerial}},
				{ImportPath: fakeTerminal + "/ui", Imports: []string{pahoV5 + "/paho"}, Deps: []string{pahoV5 + "/paho"}},
				// The hub may reach an external broker with a client.
				{ImportPath: fakeHub + "/mqttlink", Imports: []string{pahoV3}, Deps: []string{pahoV3}},
				// Third-party packages are not ours to constrain.
				{ImportPath: "example.com/modem", Imports: []string{goSerial}, Deps: []string{goSerial}},
			},
			want: []string{
				"in terminal, only terminal/hublink imports paho: " + fakeTerminal + "/ui -> " + pahoV5 + "/paho",
				"only drivers/serialport imports go.bug.st/serial: " + fakeScanner + " -> " + goSerial,
				"terminal/ui and terminal/counter never depend on SQL or MQTT: " + fakeTerminal + "/ui -> " + pahoV5 + "/paho",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, v := range check(tt.pkgs, rules(module)) {
				got = append(got, v.String())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("check:\ngot  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestDocProblem(t *testing.T) {
	tests := []struct {
		files []string
		want  string
	}{
		{[]string{"doc.go"}, ""},
		{nil, "example/p: got no package doc comment, want exactly one (add a doc.go)"},
		{[]string{"a.go", "doc.go"}, "example/p: got package doc comments in 2 files [a.go doc.go], want exactly one"},
	}
	for _, tt := range tests {
		if got := docProblem("example/p", tt.files); got != tt.want {
			t.Errorf("docProblem(%q):\ngot  %q\nwant %q", tt.files, got, tt.want)
		}
	}
}
