package main

import (
	"context"
	"fmt"
	"io"

	"github.com/hexiao/hexiao/terminal/hublink"
)

func runEnroll(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("enroll", stderr)
	data := fs.String("data", "", "data directory to create")
	hubURL := fs.String("hub", "", "the hub's http(s) address, as hexiao-hub serve prints it")
	token := fs.String("token", "", "the one-time enrollment token, or the whole hexiao://enroll link scanned from its QR code")
	link := fs.String("link", "", "the hexiao://enroll link scanned from the enrollment QR code")
	ca := fs.String("ca", "", "the hub's CA fingerprint (SHA256:…), as hexiao-hub serve prints it; needed for an https hub")
	tz := fs.String("timezone", "", "the store's time zone if the hub has none (default UTC)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *data == "" {
		return usageErr("enroll: --data DIR is required")
	}
	if fs.NArg() > 0 {
		return usageErr("enroll: unexpected argument " + fs.Arg(0))
	}
	if *token == "" && *link == "" {
		return usageErr("enroll: give --token TOKEN (with --hub) or --link hexiao://enroll?... from the QR code")
	}
	l, err := hublink.ReadEnrollInput(hublink.EnrollInput{Link: *link, Hub: *hubURL, Token: *token, CAFingerprint: *ca})
	if err != nil {
		return usageErr("enroll: " + err.Error())
	}
	got, err := hublink.Enroll(ctx, *data, l, *tz)
	if err != nil {
		return fmt.Errorf("enroll: %w", err)
	}
	fmt.Fprintf(stdout, "enrolled as terminal %s of store %s (%s); hub link %s\nnext: %s headless --data %s\n",
		got.Terminal, got.Store.ID, got.Store.Name, got.Broker, name, *data)
	return nil
}
