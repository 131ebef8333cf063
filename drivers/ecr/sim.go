package ecr

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
)

// maxSimLine bounds one simulator command line.
const maxSimLine = 8 << 10

// RunSim is a cash-register simulator: it reads one command a line from
// in, sends it on rw as the register would, and writes one JSON object per
// reply on out. A line is a command name and key=value words, e.g.
//
//	COMMIT code=HX1:... uses=1 order=A-1001 key=K1 cashier=c1
//	REVERSE key=K1 cashier=m1 reason="wrong item"
//	LAST_RESULT key=K1
//
// Keys: code, uses, key, order, cashier, note (reason is the same as
// note). A value with spaces is double-quoted, with Go escapes. Blank lines
// and lines starting with # are skipped. When a COMMIT's or REVERSE's
// outcome is unknown, RunSim says so and asks LAST_RESULT itself.
//
// RunSim returns nil at the end of in or when ctx is done (after the line
// in progress), and an error when the link fails or out cannot be written.
func RunSim(ctx context.Context, rw io.ReadWriter, in io.Reader, out io.Writer, cfg Config) error {
	reg := NewRegister(rw, cfg, nil)
	rctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var runErr error
	wg.Go(func() { runErr = reg.Run(rctx) })
	err := simLoop(ctx, reg, in, out)
	stop()
	wg.Wait()
	if errors.Is(err, ErrNotRunning) && runErr != nil {
		return runErr
	}
	return err
}

func simLoop(ctx context.Context, reg *Register, in io.Reader, out io.Writer) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 1024), maxSimLine)
	emit := func(b []byte) error {
		_, err := out.Write(append(b, '\n'))
		return err
	}
	for sc.Scan() {
		if ctx.Err() != nil {
			return nil
		}
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		req, err := ParseSimLine(line)
		if err != nil {
			if err := emit(simError("", err.Error())); err != nil {
				return err
			}
			continue
		}
		rep, err := reg.Do(ctx, req)
		switch {
		case err == nil:
			if err := emit(rep.AppendJSON(nil)); err != nil {
				return err
			}
		case errors.Is(err, ErrNotRunning):
			return err
		case errors.Is(err, ErrOutcomeUnknown) && (req.Command == CmdCommit || req.Command == CmdReverse):
			b := simError(req.Command, err.Error())
			b = appendMember(b, "outcome", "unknown")
			b = appendMember(b, "next", "LAST_RESULT")
			if err := emit(b); err != nil {
				return err
			}
			if ctx.Err() != nil {
				return nil
			}
			lr := Request{Command: CmdLastResult, IdemKey: req.IdemKey}
			rep, err := reg.Do(ctx, lr)
			because := fmt.Sprintf("the outcome of %s was unknown", req.Command)
			if req.IdemKey != "" {
				because = fmt.Sprintf("the outcome of %s key=%s was unknown", req.Command, req.IdemKey)
			}
			if err != nil {
				b = simError(CmdLastResult, err.Error()+"; the outcome is still unknown: ask LAST_RESULT again")
			} else {
				b = rep.AppendJSON(nil)
			}
			if err := emit(appendMember(b, "asked_because", because)); err != nil {
				return err
			}
			if errors.Is(err, ErrNotRunning) {
				return err
			}
		default:
			b := simError(req.Command, err.Error())
			if errors.Is(err, ErrOutcomeUnknown) {
				b = appendMember(b, "outcome", "unknown")
			}
			if err := emit(b); err != nil {
				return err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("ecr sim: read commands: %w", err)
	}
	return nil
}

func simError(cmd Command, msg string) []byte {
	b := []byte("{")
	if cmd != "" {
		b = append(b, `"command":`...)
		b = appendJSONString(b, string(cmd))
		b = append(b, ',')
	}
	b = append(b, `"error":`...)
	b = appendJSONString(b, msg)
	return append(b, '}')
}

// appendMember adds "key":"value" to the JSON object in b.
func appendMember(b []byte, key, value string) []byte {
	b = b[:len(b)-1] // the closing brace
	if len(b) > 1 {
		b = append(b, ',')
	}
	b = appendJSONString(b, key)
	b = append(b, ':')
	b = appendJSONString(b, value)
	return append(b, '}')
}

// ParseSimLine reads one simulator line into a request. The command name
// is sent as written (upper-cased), so a register's mistakes can be tried.
func ParseSimLine(line string) (Request, error) {
	words, err := splitWords(line)
	if err != nil {
		return Request{}, err
	}
	if len(words) == 0 {
		return Request{}, errors.New("empty line")
	}
	req := Request{Command: Command(strings.ToUpper(words[0]))}
	seen := map[string]bool{}
	for _, w := range words[1:] {
		k, v, ok := strings.Cut(w, "=")
		if !ok {
			return Request{}, fmt.Errorf("%q: want key=value", w)
		}
		k = strings.ToLower(k)
		if k == "reason" {
			k = "note"
		}
		if seen[k] {
			return Request{}, fmt.Errorf("%s given twice", k)
		}
		seen[k] = true
		switch k {
		case "code":
			req.Code = v
		case "key":
			req.IdemKey = v
		case "order":
			req.OrderRef = v
		case "cashier":
			req.Cashier = v
		case "note":
			req.Note = v
		case "uses":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return Request{}, fmt.Errorf("uses=%q: want a number", v)
			}
			req.Uses = n
		default:
			return Request{}, fmt.Errorf("unknown key %q (want code, uses, key, order, cashier, note)", k)
		}
	}
	return req, nil
}

// splitWords splits on spaces, keeping double-quoted words (Go escapes)
// together; a quote may start after key=.
func splitWords(s string) ([]string, error) {
	var out []string
	for {
		s = strings.TrimLeft(s, " \t")
		if s == "" {
			return out, nil
		}
		end := strings.IndexAny(s, " \t")
		if end < 0 {
			end = len(s)
		}
		q := strings.IndexByte(s[:end], '"')
		if q < 0 {
			out = append(out, s[:end])
			s = s[end:]
			continue
		}
		prefix := s[:q]
		quoted, err := strconv.QuotedPrefix(s[q:])
		if err != nil {
			return nil, fmt.Errorf("bad quoting in %.40q", s)
		}
		v, _ := strconv.Unquote(quoted)
		rest := s[q+len(quoted):]
		if rest != "" && rest[0] != ' ' && rest[0] != '\t' {
			return nil, fmt.Errorf("text after a closing quote in %.40q", s)
		}
		out = append(out, prefix+v)
		s = rest
	}
}
