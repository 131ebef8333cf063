package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/hexiao/hexiao/hub"
	"github.com/hexiao/hexiao/protocol"
)

// DemoFile is where demo writes what it printed, so a second run (and
// make run) shows the same codes instead of seeding twice.
const DemoFile = "demo.txt"

// demoSecrets are the demo's card secrets: printed on the vouchers of a
// supplier, typed or scanned at the counter.
var demoSecrets = []string{"8800-1234-5678", "8800-2345-6789", "8800-3456-7890", "8800-4567-8901", "8800-5678-9012"}

func demoCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fl := flag.NewFlagSet("demo", flag.ContinueOnError)
	fl.SetOutput(stderr)
	dir := fl.String("data", "", "the hub's data directory (created if missing)")
	if err := fl.Parse(args); err != nil {
		return usageErr(err.Error())
	}
	if *dir == "" || fl.NArg() > 0 {
		return usageErr("demo needs --data DIR and nothing else")
	}
	if b, err := os.ReadFile(filepath.Join(*dir, DemoFile)); err == nil {
		fmt.Fprintf(stdout, "The demo chain is already in %s; what it holds:\n\n", *dir)
		_, err := stdout.Write(b)
		return err
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	app, err := openHub(ctx, *dir, "", discardLog())
	if err != nil {
		return err
	}
	defer app.close()
	var out bytes.Buffer
	if err := seedDemo(ctx, app.hub, *dir, &out); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if err := os.WriteFile(filepath.Join(*dir, DemoFile), out.Bytes(), 0o600); err != nil {
		return err
	}
	_, err = stdout.Write(out.Bytes())
	return err
}

// seedDemo creates a small chain: three stores in two regions, four
// campaigns (one of each code format, a 次卡 among them), codes, and an
// enrollment token, and writes what to scan to w.
func seedDemo(ctx context.Context, h *hub.Hub, dir string, w io.Writer) error {
	now := h.Now().UTC().Truncate(24 * time.Hour)
	stores := []protocol.Store{
		{ID: "sh-001", Name: "上海南京西路店", Region: "east", Timezone: "Asia/Shanghai"},
		{ID: "sh-002", Name: "上海徐家汇店", Region: "east", Timezone: "Asia/Shanghai"},
		{ID: "bj-001", Name: "北京三里屯店", Region: "north", Timezone: "Asia/Shanghai"},
	}
	for _, s := range stores {
		if _, err := h.PutStore(ctx, s); err != nil {
			return err
		}
	}
	year := func(c *protocol.Campaign) { c.ValidFrom, c.ValidUntil = now.AddDate(0, 0, -1), now.AddDate(1, 0, 0) }
	camps := []protocol.Campaign{
		{ID: "video-month", Name: "视频会员月卡", FaceValue: 2500, Uses: 1, UndoWindow: protocol.Duration(15 * time.Minute),
			Offline: protocol.OfflinePolicy{Allow: true, MaxCount: 20, MaxValue: 50000, MaxAge: protocol.Duration(24 * time.Hour)}},
		{ID: "lunch-set", Name: "午餐套餐券", FaceValue: 3800, Uses: 1, Hours: []string{"10:30-14:30", "17:00-21:00"},
			UndoWindow: protocol.Duration(10 * time.Minute), Offline: protocol.OfflinePolicy{Allow: true, MaxCount: 50}},
		{ID: "gym-10", Name: "健身十次卡", FaceValue: 5000, Uses: 10, Regions: []string{"east"},
			MinInterval: protocol.Duration(time.Hour), UndoWindow: protocol.Duration(30 * time.Minute), Confirm: true,
			Offline: protocol.OfflinePolicy{Allow: true, MaxAge: protocol.Duration(24 * time.Hour)}},
		{ID: "coffee-wallet", Name: "咖啡钱包动态码", FaceValue: 1800, Uses: 5, Offline: protocol.OfflinePolicy{Allow: false}},
	}
	for i := range camps {
		year(&camps[i])
		if _, err := h.PutCampaign(ctx, camps[i]); err != nil {
			return err
		}
	}
	collect := func(campaign string, req hub.IssueRequest) ([]hub.IssuedCode, error) {
		var out []hub.IssuedCode
		err := h.Issue(ctx, campaign, req, func(c hub.IssuedCode) error { out = append(out, c); return nil })
		return out, err
	}
	video, err := collect("video-month", hub.IssueRequest{Count: 3, Format: protocol.FormatSigned, OrderRef: "demo-order-1"})
	if err != nil {
		return err
	}
	gym, err := collect("gym-10", hub.IssueRequest{Count: 2, Format: protocol.FormatSigned, OrderRef: "demo-order-2"})
	if err != nil {
		return err
	}
	coffee, err := collect("coffee-wallet", hub.IssueRequest{Count: 1, Format: protocol.FormatDynamic, OrderRef: "demo-order-3"})
	if err != nil {
		return err
	}
	lunch, err := h.Import(ctx, "lunch-set", demoSecrets, "supplier-batch-1")
	if err != nil {
		return err
	}
	tok, err := h.CreateEnrollment(ctx, "sh-001", "T-SH001-1")
	if err != nil {
		return err
	}

	// Dashboard users: an HQ admin and the manager of the first store.
	acct := hub.NewAccounts(h, hub.AccountsConfig{})
	users := []hub.NewUser{{Name: "admin", DisplayName: "HQ admin", Role: hub.RoleAdmin, Password: randomPassword()},
		{Name: "manager-" + stores[0].ID, DisplayName: stores[0].Name, Role: hub.RoleStoreManager, Store: stores[0].ID,
			Password: randomPassword()}}
	for _, u := range users {
		if _, err := acct.AddUser(ctx, u); err != nil {
			return err
		}
	}

	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	p("Dashboard (http://127.0.0.1:8480/login) users:\n")
	for _, u := range users {
		p("  %-16s password %s  (%s%s)\n", u.Name, u.Password, u.Role, storeText(u.Store))
	}
	p("\n")
	p("Demo chain: 3 stores (sh-001, sh-002 in region east; bj-001 in north), 4 campaigns.\n\n")
	p("视频会员月卡 video-month, signed codes, one use each (scan or paste one):\n")
	for _, c := range video {
		p("  %s  %s\n", c.ID, c.Code)
	}
	p("\n健身十次卡 gym-10, a 次卡 with 10 uses, east stores only, one use an hour:\n")
	for _, c := range gym {
		p("  %s  %s\n", c.ID, c.Code)
	}
	p("\n午餐套餐券 lunch-set, card secrets from a supplier (10:30-14:30 and 17:00-21:00 Shanghai time):\n")
	for i, s := range demoSecrets {
		p("  %s  %s\n", lunch[i], s)
	}
	p("\n咖啡钱包动态码 coffee-wallet, a dynamic code (online only); its wallet seed, base32, TOTP SHA-256, 8 digits, 30 s:\n")
	for _, c := range coffee {
		p("  %s  seed %s\n", c.ID, c.Seed)
	}
	p("\nEnrollment token for terminal %s of store %s (expires %s):\n  %s\n",
		tok.Terminal, tok.Store, tok.ExpiresAt.Format(time.RFC3339), tok.Token)
	p("\nNext: start the hub and ask it about a code:\n")
	p("  hexiao-hub serve --data %s\n", dir)
	p("  curl -s -H \"Authorization: Bearer $(cat %s/admin.token)\" http://127.0.0.1:8480/api/v1/codes/%s\n", dir, video[0].ID)
	p("  curl -s -H \"Authorization: Bearer $(cat %s/admin.token)\" http://127.0.0.1:8480/api/v1/redemptions\n", dir)
	p("and, in another shell, enroll a terminal and scan:\n")
	p("  hexiao-terminal enroll --data /tmp/hx-%s --hub http://127.0.0.1:8480 --token %s\n", tok.Terminal, tok.Token)
	p("  echo %s | hexiao-terminal headless --data /tmp/hx-%s\n", video[0].Code, tok.Terminal)
	p("or open the counter window (hexiao-terminal --data /tmp/hx-%s) and paste this enrollment link (the QR code's text):\n", tok.Terminal)
	p("  %s\n", protocol.EnrollLink{Hub: "http://127.0.0.1:8480", Token: tok.Token})
	return nil
}
