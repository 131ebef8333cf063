package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hexiao/hexiao/hub"
)

// Run runs the suite. open must return a new, empty store for each call;
// Run closes it when the subtest ends.
func Run(t *testing.T, open func(t *testing.T) hub.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s hub.Store)
	}{
		{"UpdateCommits", testUpdateCommits},
		{"UpdateRollsBackOnError", testUpdateRollsBackOnError},
		{"UpdateRollsBackOnPanic", testUpdateRollsBackOnPanic},
		{"UpdateCancelled", testUpdateCancelled},
		{"ViewSnapshot", testViewSnapshot},
		{"Ping", testPing},
		{"Meta", testMeta},
		{"Stores", testStores},
		{"Campaigns", testCampaigns},
		{"Keys", testKeys},
		{"Terminals", testTerminals},
		{"SetHead", testSetHead},
		{"Enrollment", testEnrollment},
		{"Locks", testLocks},
		{"CodeRoundTrip", testCodeRoundTrip},
		{"CodeNotFound", testCodeNotFound},
		{"Codes", testCodes},
		{"InsertCodesDuplicateID", testInsertCodesDuplicateID},
		{"InsertCodesDuplicateSecret", testInsertCodesDuplicateSecret},
		{"CodesAfter", testCodesAfter},
		{"CountCodes", testCountCodes},
		{"SetStatus", testSetStatus},
		{"TakeUsesAccepted", testTakeUsesAccepted},
		{"TakeUsesRefused", testTakeUsesRefused},
		{"TakeUsesStep", testTakeUsesStep},
		{"TakeUsesRace", testTakeUsesRace},
		{"AddUses", testAddUses},
		{"EventRoundTrip", testEventRoundTrip},
		{"EventDuplicate", testEventDuplicate},
		{"InsertEventsMany", testInsertEventsMany},
		{"CodeEvents", testCodeEvents},
		{"EventsFilters", testEventsFilters},
		{"EventsAfterID", testEventsAfterID},
		{"EventsStop", testEventsStop},
		{"Claims", testClaims},
		{"ClaimsRange", testClaimsRange},
		{"SettleClaim", testSettleClaim},
		{"FeedEmpty", testFeedEmpty},
		{"Changes", testChanges},
		{"AddChangesMany", testAddChangesMany},
		{"ChangeSeqNotReused", testChangeSeqNotReused},
		{"AlertRoundTrip", testAlertRoundTrip},
		{"UpdateAlert", testUpdateAlert},
		{"AlertsFilters", testAlertsFilters},
		{"OpenAlert", testOpenAlert},
		{"TimesInUTC", testTimesInUTC},
		{"Totals", testTotals}, // totals.go
		{"TotalsClearAndRollback", testTotalsClearAndRollback},
		{"TotalsMany", testTotalsMany},
		{"LocksBetween", testLocksBetween},
		{"Accounts", testAccounts}, // accounts.go
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("close: %v", err)
				}
			})
			tc.fn(t, s)
		})
	}
}

// t0 is the suite's clock: microsecond precision, UTC.
var t0 = time.Date(2026, 3, 14, 9, 26, 53, 589793000, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

var errBoom = errors.New("boom")

// update runs fn in an Update that must commit.
func update(t *testing.T, s hub.Store, fn func(tx hub.Tx) error) {
	t.Helper()
	if err := s.Update(context.Background(), fn); err != nil {
		t.Fatalf("update: %v", err)
	}
}

// view runs fn in a View that must succeed.
func view(t *testing.T, s hub.Store, fn func(r hub.Reader) error) {
	t.Helper()
	if err := s.View(context.Background(), fn); err != nil {
		t.Fatalf("view: %v", err)
	}
}

// check fails the test on an error (on the test's goroutine only).
func check(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// isErr fails the test unless errors.Is(err, want).
func isErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: got error %v, want %v", what, err, want)
	}
}

// same reports, field by field, how got differs from want.
func same(t *testing.T, what string, got, want any) {
	t.Helper()
	if reflect.DeepEqual(got, want) {
		return
	}
	var diffs []string
	diff("", reflect.ValueOf(got), reflect.ValueOf(want), &diffs)
	if len(diffs) == 0 {
		diffs = []string{fmt.Sprintf("got %+v, want %+v", got, want)}
	}
	t.Errorf("%s differs:\n\t%s", what, strings.Join(diffs, "\n\t"))
}

var timeType = reflect.TypeFor[time.Time]()

func diff(path string, got, want reflect.Value, out *[]string) {
	report := func(g, w string) { *out = append(*out, fmt.Sprintf("%s: got %s, want %s", orRoot(path), g, w)) }
	if !got.IsValid() || !want.IsValid() {
		if got.IsValid() != want.IsValid() {
			report(show(got), show(want))
		}
		return
	}
	if !got.CanInterface() || !want.CanInterface() {
		report("(unexported)", "(unexported)")
		return
	}
	if reflect.DeepEqual(got.Interface(), want.Interface()) {
		return
	}
	switch {
	case got.Type() == timeType:
		report(show(got), show(want))
	case got.Kind() == reflect.Struct:
		for i := range got.NumField() {
			diff(path+"."+got.Type().Field(i).Name, got.Field(i), want.Field(i), out)
		}
	case got.Kind() == reflect.Pointer && !got.IsNil() && !want.IsNil():
		diff(path, got.Elem(), want.Elem(), out)
	case got.Kind() == reflect.Slice && got.Len() == want.Len() && got.IsNil() == want.IsNil() &&
		got.Type().Elem().Kind() != reflect.Uint8:
		for i := range got.Len() {
			diff(fmt.Sprintf("%s[%d]", path, i), got.Index(i), want.Index(i), out)
		}
	default:
		report(show(got), show(want))
	}
}

func orRoot(path string) string {
	if path == "" {
		return "value"
	}
	return strings.TrimPrefix(path, ".")
}

func show(v reflect.Value) string {
	if !v.IsValid() {
		return "<nothing>"
	}
	switch {
	case v.Type() == timeType:
		tm := v.Interface().(time.Time)
		if tm.IsZero() {
			return "zero time"
		}
		return tm.Format(time.RFC3339Nano) + " (" + tm.Location().String() + ")"
	case (v.Kind() == reflect.Slice || v.Kind() == reflect.Pointer || v.Kind() == reflect.Map) && v.IsNil():
		return "nil"
	case v.Kind() == reflect.Slice && v.Len() == 0:
		return "empty (not nil)"
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8:
		return fmt.Sprintf("%x", v.Bytes())
	case v.Kind() == reflect.Pointer:
		return "&" + show(v.Elem())
	}
	return fmt.Sprintf("%+v", v.Interface())
}

// sortedBy returns l sorted by key, for lists whose order the contract
// leaves open.
func sortedBy[T any](l []T, key func(T) string) []T {
	l = slices.Clone(l)
	slices.SortFunc(l, func(a, b T) int { return strings.Compare(key(a), key(b)) })
	return l
}
