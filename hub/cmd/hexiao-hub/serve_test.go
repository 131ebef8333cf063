package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDemoThenServe runs what make run does, on port 0 in a temporary
// directory: demo seeds, serve prints its listeners, the API answers with
// the token serve made, and the demo's codes are there; a second serve on
// the same directory is refused while the first runs.
func TestDemoThenServe(t *testing.T) {
	dir := t.TempDir()
	out, _, err := runArgs(t, "demo", "--data", dir)
	if err != nil {
		t.Fatalf("demo: %v", err)
	}
	if !strings.Contains(out, "8800-1234-5678") || !strings.Contains(out, "HX1:") {
		t.Fatalf("demo output lacks the codes to scan:\n%s", out)
	}
	again, _, err := runArgs(t, "demo", "--data", dir)
	if err != nil || !strings.Contains(again, "already") || !strings.Contains(again, "8800-1234-5678") {
		t.Fatalf("second demo: %v\n%s", err, again)
	}

	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--data", dir, "--http", "127.0.0.1:0", "--mqtt", "127.0.0.1:0"}, pw, io.Discard)
		pw.Close()
	}()
	addrs := map[string]string{}
	sc := bufio.NewScanner(pr)
	for len(addrs) < 2 && sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 4 && f[1] == "listening" {
			addrs[f[0]] = f[3]
		}
	}
	go io.Copy(io.Discard, pr)
	if addrs["http"] == "" || addrs["mqtt"] == "" {
		cancel()
		t.Fatalf("listeners printed: %v", addrs)
	}
	if c, err := net.DialTimeout("tcp", addrs["mqtt"], 5*time.Second); err != nil {
		t.Errorf("mqtt listener: %v", err)
	} else {
		c.Close()
	}
	token, err := os.ReadFile(filepath.Join(dir, "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "admin.token")); fi.Mode().Perm() != 0o600 {
		t.Errorf("admin.token mode %v, want 0600", fi.Mode().Perm())
	}
	get := func(path string, auth bool) (int, []byte) {
		req, _ := http.NewRequest("GET", "http://"+addrs["http"]+path, nil)
		if auth {
			req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	if code, _ := get("/healthz", false); code != 200 {
		t.Errorf("healthz: %d", code)
	}
	if code, _ := get("/api/v1/stores", false); code != 401 {
		t.Errorf("stores without the token: %d, want 401", code)
	}
	code, body := get("/api/v1/codes/8800-1234-5678", true)
	var info struct {
		Campaign string `json:"campaign"`
		UsesLeft int    `json:"uses_left"`
	}
	if code != 200 || json.Unmarshal(body, &info) != nil || info.Campaign != "lunch-set" || info.UsesLeft != 1 {
		t.Errorf("a demo card secret: %d %s", code, body)
	}
	if _, _, err := runArgs(t, "serve", "--data", dir, "--http", "127.0.0.1:0", "--mqtt", "127.0.0.1:0"); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("a second serve on the same directory: %v, want refused as in use", err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve after its context ended: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop")
	}
}
