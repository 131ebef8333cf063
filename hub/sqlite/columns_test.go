package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/hexiao/hexiao/hub"
	"github.com/hexiao/hexiao/protocol"
)

func TestListColumns(t *testing.T) {
	for _, l := range [][]string{
		nil, {"S-1"}, {"S-1", "S-2", "east_1.x"}, {""}, {"a", ""}, {"", ""},
		{`quo"te`}, {`back\slash`}, {"上海", "北京"}, {"a<b>&c"}, {"tab\there"}, {"\u2028"}, {`","`}, {`"`, `"`},
	} {
		enc, err := listText(l)
		if err != nil {
			t.Fatal(err)
		}
		var col sql.NullString
		if enc != nil {
			col = sql.NullString{String: enc.(string), Valid: true}
			var std []string
			if err := json.Unmarshal([]byte(col.String), &std); err != nil || !reflect.DeepEqual(std, l) {
				t.Errorf("listText(%q) = %s, which encoding/json reads as %q (%v)", l, col.String, std, err)
			}
			if want, _ := json.Marshal(l); string(want) != col.String {
				t.Errorf("listText(%q) = %s, encoding/json writes %s", l, col.String, want)
			}
		}
		got, err := parseList[string](col)
		if err != nil || !reflect.DeepEqual(got, l) {
			t.Errorf("parseList(listText(%q)) = %q, %v", l, got, err)
		}
	}
	for _, s := range []string{`[ "a" , "b" ]`, `["a\"b"]`, `["\u0041"]`} {
		var want []string
		json.Unmarshal([]byte(s), &want)
		got, err := parseList[string](sql.NullString{String: s, Valid: true})
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("parseList(%s) = %q, %v, want %q", s, got, err, want)
		}
	}
}

// TestAddUsesAgreesWithTheRow checks that the code AddUses returns (made
// in Go from the code read before), and the one the transaction remembers
// for the next Code or Codes, are the row the UPDATE left, whatever came
// before: reads, claims (TakeUses), status changes.
func TestAddUsesAgreesWithTheRow(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "hub.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	ids := []string{"A", "B", "C"}
	err = s.Update(context.Background(), func(tx hub.Tx) error {
		var codes []hub.Code
		for _, id := range ids {
			codes = append(codes, hub.Code{ID: id, Campaign: "C", Format: protocol.FormatDynamic, Uses: 3,
				Status: protocol.StatusActive, Stores: []string{"S-1"}})
		}
		if err := tx.InsertCodes(codes); err != nil {
			return err
		}
		for i := range 2000 {
			id := ids[rng.IntN(len(ids))]
			switch rng.IntN(6) {
			case 0:
				if _, err := tx.Code(id); err != nil {
					return err
				}
			case 2:
				if _, err := tx.Codes(ids); err != nil {
					return err
				}
			case 3:
				st := []protocol.CodeStatus{protocol.StatusActive, protocol.StatusBlocked}[rng.IntN(2)]
				if _, err := tx.SetStatus(id, st); err != nil {
					return err
				}
			case 1:
				u := protocol.Use{Store: "S-1", Terminal: "T-1", At: base.Add(time.Duration(rng.IntN(5)) * time.Minute)}
				if _, _, err := tx.TakeUses(id, 1, u, int64(rng.IntN(2)*rng.IntN(80))); err != nil {
					return err
				}
			}
			var use *protocol.Use
			if rng.IntN(2) == 0 {
				// Nanoseconds too: the ledger keeps microseconds.
				term := fmt.Sprintf("T-%d", rng.IntN(3))
				use = &protocol.Use{Store: "S-2", Terminal: term,
					At: base.Add(time.Duration(rng.IntN(5))*time.Minute + time.Duration(rng.IntN(3000))*time.Nanosecond)}
			}
			got, err := tx.AddUses(id, rng.IntN(7)-3, use, int64(rng.IntN(60)))
			if err != nil {
				return err
			}
			kept, err := tx.Code(id) // as remembered
			if err != nil {
				return err
			}
			t := tx.(*txn)
			t.forget() // read the row itself
			row, err := tx.Code(id)
			if err != nil {
				return err
			}
			if !reflect.DeepEqual(got, row) {
				return &mismatch{i: i, what: "AddUses returned", got: got, row: row}
			}
			if !reflect.DeepEqual(kept, row) {
				return &mismatch{i: i, what: "the transaction remembered", got: kept, row: row}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

type mismatch struct {
	i        int
	what     string
	got, row hub.Code
}

func (m *mismatch) Error() string {
	b1, _ := json.Marshal(m.got)
	b2, _ := json.Marshal(m.row)
	return fmt.Sprintf("step %d: %s %s, the row is %s", m.i, m.what, b1, b2)
}
