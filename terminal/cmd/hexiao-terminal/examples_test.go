package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hexiao/hexiao/protocol"
)

var update = flag.Bool("update", false, "rewrite docs/examples")

const examplesDir = "../../../docs/examples"

// exampleFiles builds the README's example data: a demo pepper, a snapshot
// with two campaigns, card secrets and an issuing key, and a signed code.
func exampleFiles(t *testing.T) map[string][]byte {
	t.Helper()
	sum := sha256.Sum256([]byte("hexiao demo pepper — not for production"))
	pepper := sum[:]
	keySeed := sha256.Sum256([]byte("hexiao demo issuing key — not for production"))
	priv := ed25519.NewKeyFromSeed(keySeed[:])
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	until := time.Date(2036, 1, 1, 0, 0, 0, 0, time.UTC)
	key := protocol.SigningKey{IssuingKey: protocol.IssuingKey{ID: "demo-k1", Public: priv.Public().(ed25519.PublicKey),
		NotBefore: from, NotAfter: until.AddDate(0, 6, 0)}, Private: priv}
	movie := protocol.Campaign{ID: "demo-movie", Name: "电影兑换券 Movie ticket", FaceValue: 4500, Uses: 1,
		ValidFrom: from, ValidUntil: until, UndoWindow: protocol.Duration(15 * time.Minute),
		Offline: protocol.OfflinePolicy{Allow: true, MaxCount: 200, MaxValue: 2_000_000}}
	meal := protocol.Campaign{ID: "demo-meal-10x", Name: "午餐次卡 Lunch card ×10", FaceValue: 3500, Uses: 10,
		ValidFrom: from, ValidUntil: until, UndoWindow: protocol.Duration(15 * time.Minute),
		Offline: protocol.OfflinePolicy{Allow: true}}
	hasher, _ := protocol.NewSecretHasher(pepper)
	var codes []protocol.CodeState
	for i := 1; i <= 5; i++ {
		for _, c := range []struct {
			prefix, campaign string
			uses             int
		}{{"DEMO0000", "demo-movie", 1}, {"DEMO1000", "demo-meal-10x", 10}} {
			secret := fmt.Sprintf("%s%04d", c.prefix, i)
			h := hasher.Hash(secret)
			codes = append(codes, protocol.CodeState{ID: "S" + secret, Campaign: c.campaign, Format: protocol.FormatSecret,
				SecretHash: &h, Uses: c.uses, UsesLeft: c.uses, Status: protocol.StatusActive})
		}
	}
	page := protocol.SnapshotPage{Snapshot: "demo", AsOf: 1, Page: 0, Last: true,
		Stores:    []protocol.Store{{ID: "demo-001", Name: "演示门店 Demo store", Region: "east", Timezone: "Asia/Shanghai"}},
		Campaigns: []protocol.Campaign{movie, meal}, Keys: []protocol.IssuingKey{key.IssuingKey}, Codes: codes}
	snap, err := protocol.Encode(&page)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := key.Sign(protocol.SignedCode{ID: "CDEMO0001", Campaign: "demo-movie", ValidFrom: from, ValidUntil: until, Uses: 1}, from)
	if err != nil {
		t.Fatal(err)
	}
	return map[string][]byte{
		"pepper.hex":      []byte(hex.EncodeToString(pepper) + "\n"),
		"snapshot.ndjson": append(snap, '\n'),
		"signed-code.txt": []byte(signed + "\n"),
	}
}

// TestExamples keeps docs/examples in step with the code (-update rewrites
// them) and runs the README's terminal walk-through on them.
func TestExamples(t *testing.T) {
	files := exampleFiles(t)
	for name, want := range files {
		path := filepath.Join(examplesDir, name)
		if *update {
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s is out of date (go test ./terminal/cmd/hexiao-terminal -run TestExamples -update): %v", path, err)
		}
	}
	readme, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	signed := strings.TrimSpace(string(files["signed-code.txt"]))
	for _, s := range []string{signed, "--pepper-file docs/examples/pepper.hex", "docs/examples/snapshot.ndjson"} {
		if !bytes.Contains(readme, []byte(s)) {
			t.Errorf("README.md lacks %.40q…", s)
		}
	}

	// The walk-through, as the README has it.
	ctx := context.Background()
	data := filepath.Join(t.TempDir(), "hx-t1")
	pepperFile := filepath.Join(t.TempDir(), "pepper.hex")
	os.WriteFile(pepperFile, files["pepper.hex"], 0o600)
	snapFile := filepath.Join(t.TempDir(), "snapshot.ndjson")
	os.WriteFile(snapFile, files["snapshot.ndjson"], 0o600)
	var out, errb bytes.Buffer
	steps := [][]string{
		{"init", "--data", data, "--terminal", "T-DEMO-1", "--store", "demo-001", "--pepper-file", pepperFile},
		{"import", "--data", data, snapFile},
	}
	for _, args := range steps {
		if err := run(ctx, args, nil, &out, &errb); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, errb.String())
		}
	}
	in := "DEMO-0000-0001\nDEMO-0000-0001\n{\"code\":\"demo 1000 0001\",\"uses\":3}\n" + signed + "\n"
	out.Reset()
	if err := run(ctx, []string{"headless", "--data", data, "--lang", "zh-CN"}, strings.NewReader(in), &out, &errb); err != nil {
		t.Fatalf("headless: %v", err)
	}
	ds := decisions(t, out.String())
	want := []protocol.Reason{protocol.Accepted, protocol.UsedUp, protocol.Accepted, protocol.Accepted}
	for i, d := range ds {
		if i >= len(want) || d.Reason != want[i] {
			t.Errorf("walk-through decision %d: %+v, want %s", i, d, want[i])
		}
	}
	if len(ds) != len(want) || ds[2].RemainingUses != 7 || ds[1].Message != "券码已用完" {
		t.Errorf("walk-through: %+v", ds)
	}
}
