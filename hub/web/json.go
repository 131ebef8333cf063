package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/hexiao/hexiao/hub"
	"github.com/hexiao/hexiao/protocol"
)

// errorBody is the one error shape: {"error":{"code","message"}}.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// writeJSON sends v with status. It encodes first, so an encoding failure
// is still a clean 500.
func (s *Server) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		s.internal(w, r, fmt.Errorf("encode answer: %w", err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// fail sends an error in the API's shape. The message is for the caller
// and must never hold a token or a card secret.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	b, _ := json.Marshal(errorBody{Error: errorDetail{Code: code, Message: msg}})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
	if status >= 500 {
		return // internal() logged the detail
	}
	s.log.Debug("http refused", "method", r.Method, "route", r.Pattern, "status", status, "code", code)
}

// internal answers 500 with a generic message and logs the detail.
func (s *Server) internal(w http.ResponseWriter, r *http.Request, err error) {
	s.log.Error("http internal error", "method", r.Method, "route", r.Pattern, "err", err)
	s.fail(w, r, http.StatusInternalServerError, "internal", "internal error; the hub logged the detail")
}

// hubError maps an error from the hub to a status: Invalid 400, NotFound
// 404, Conflict 409, anything else 500 (detail logged, not sent).
func (s *Server) hubError(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil && errors.Is(err, context.Canceled) {
		s.log.Debug("http request canceled", "method", r.Method, "route", r.Pattern)
		return // the client went away; nobody reads an answer
	}
	status, code, msg := errorFor(err)
	if status == http.StatusInternalServerError {
		s.internal(w, r, err)
		return
	}
	s.fail(w, r, status, code, msg)
}

// errorFor is what hubError answers for err.
func errorFor(err error) (status int, code, msg string) {
	if e := hub.AsError(err); e != nil {
		switch e.Kind {
		case hub.NotFound:
			return http.StatusNotFound, string(e.Kind), e.Msg
		case hub.Conflict:
			return http.StatusConflict, string(e.Kind), e.Msg
		}
		return http.StatusBadRequest, string(e.Kind), e.Msg
	}
	if errors.Is(err, hub.ErrNotFound) {
		return http.StatusNotFound, "not_found", "not found"
	}
	return http.StatusInternalServerError, "internal", "internal error; the hub logged the detail"
}

// bodyError is a refused request body: the status, code and message to
// answer with.
type bodyError struct {
	status int
	code   string
	msg    string
}

func (e *bodyError) Error() string { return e.msg }

// readJSON decodes r's body into dst, refusing a body over limit bytes,
// a Content-Type other than application/json, unknown fields, wrong types
// and trailing data. When optional, an empty body leaves dst as it is. It
// answers the refusal itself and reports whether the handler may go on.
func (s *Server) readJSON(w http.ResponseWriter, r *http.Request, dst any, limit int64, optional bool) bool {
	if err := decodeBody(w, r, dst, limit, optional); err != nil {
		var be *bodyError
		if errors.As(err, &be) {
			s.fail(w, r, be.status, be.code, be.msg)
		} else {
			s.internal(w, r, err)
		}
		return false
	}
	return true
}

func decodeBody(w http.ResponseWriter, r *http.Request, dst any, limit int64, optional bool) error {
	if optional && r.ContentLength == 0 {
		return nil
	}
	ct := r.Header.Get("Content-Type")
	wrongType := &bodyError{http.StatusUnsupportedMediaType, "unsupported_media_type",
		fmt.Sprintf("Content-Type is %q; send a JSON body with Content-Type: application/json", ct)}
	if ct != "" || !optional {
		mt, params, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" || (params["charset"] != "" && !strings.EqualFold(params["charset"], "utf-8")) {
			return wrongType
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return &bodyError{http.StatusRequestEntityTooLarge, "too_large",
			fmt.Sprintf("request body is larger than the limit of %s for this route; send a smaller body", sizeText(limit))}
	case err != nil:
		return &bodyError{http.StatusBadRequest, "malformed_json", "request body could not be read: " + err.Error()}
	}
	if len(bytes.TrimSpace(body)) == 0 {
		if optional {
			return nil
		}
		return &bodyError{http.StatusBadRequest, "malformed_json", "request body is empty; send a JSON object"}
	}
	if ct == "" {
		return wrongType // a body without a type (optional bodies only get here)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err, body, reflect.TypeOf(dst))
	}
	if _, err := dec.Token(); err != io.EOF {
		return &bodyError{http.StatusBadRequest, "malformed_json",
			"request body has data after the JSON object; send exactly one JSON object"}
	}
	return nil
}

// jsonError turns a decoding error into a message that says which field
// to fix. Errors from a field's own UnmarshalJSON (times, durations) name
// no field, so the body is decoded again field by field to find it.
func jsonError(err error, body []byte, t reflect.Type) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return &bodyError{http.StatusBadRequest, "malformed_json",
			fmt.Sprintf("request body is not valid JSON at byte %d: %s", syn.Offset, syn.Error())}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &bodyError{http.StatusBadRequest, "malformed_json", "request body ends in the middle of the JSON"}
	case errors.As(err, &typ):
		if typ.Field == "" {
			return &bodyError{http.StatusBadRequest, "wrong_type",
				fmt.Sprintf("request body is a JSON %s; send a JSON object", typ.Value)}
		}
		return &bodyError{http.StatusBadRequest, "wrong_type",
			fmt.Sprintf("field %q: got a JSON %s, want %s", typ.Field, typ.Value, jsonKind(typ.Type))}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.TrimPrefix(err.Error(), "json: unknown field ")
		return &bodyError{http.StatusBadRequest, "unknown_field",
			fmt.Sprintf("unknown field %s; remove it or fix its spelling (accepted: %s)", name, fieldList(t))}
	}
	if field, ft := locate(body, t, ""); field != "" {
		return &bodyError{http.StatusBadRequest, "wrong_type", fmt.Sprintf("field %q: want %s", field, jsonKind(ft))}
	}
	return &bodyError{http.StatusBadRequest, "malformed_json", "request body: " + err.Error()}
}

// locate finds the first field of body (a JSON object for type t) whose
// value does not decode, searching nested objects.
func locate(body []byte, t reflect.Type, prefix string) (string, reflect.Type) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return "", nil
	}
	var raw map[string]json.RawMessage
	if json.Unmarshal(body, &raw) != nil {
		return "", nil
	}
	for _, f := range jsonFields(t) {
		v, ok := raw[f.name]
		if !ok {
			continue
		}
		if json.Unmarshal(v, reflect.New(f.typ).Interface()) == nil {
			continue
		}
		if name, ft := locate(v, f.typ, prefix+f.name+"."); name != "" {
			return name, ft
		}
		return prefix + f.name, f.typ
	}
	return "", nil
}

type jsonField struct {
	name string
	typ  reflect.Type
}

// jsonFields lists the JSON fields of a struct type, embedded ones included.
func jsonFields(t reflect.Type) []jsonField {
	var out []jsonField
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			out = append(out, jsonFields(f.Type)...)
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, jsonField{name, f.Type})
	}
	return out
}

// fieldList names the top-level fields a body of type t accepts.
func fieldList(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return "none"
	}
	var names []string
	for _, f := range jsonFields(t) {
		names = append(names, f.name)
	}
	if len(names) == 0 {
		return "none: send no body or {}"
	}
	return strings.Join(names, ", ")
}

var (
	timeType     = reflect.TypeFor[time.Time]()
	durationType = reflect.TypeFor[protocol.Duration]()
)

// jsonKind describes what JSON a Go type reads.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "another type"
	}
	switch t {
	case timeType:
		return `an RFC 3339 time string such as "2025-01-31T00:00:00Z"`
	case durationType:
		return `a duration string such as "15m" or "24h", or a number of seconds`
	}
	switch t.Kind() {
	case reflect.Pointer:
		return jsonKind(t.Elem())
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.String {
			return "an array of strings"
		}
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return "another type"
}

func sizeText(n int64) string {
	if n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}
