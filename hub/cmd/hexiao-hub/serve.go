package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hexiao/hexiao/hub"
	"github.com/hexiao/hexiao/hub/broker"
	"github.com/hexiao/hexiao/hub/mqttlink"
	"github.com/hexiao/hexiao/hub/web"
)

// serveConfig is what serve's flags say.
type serveConfig struct {
	dir, http, mqtt, broker, db string
	terminalBroker              string        // with broker: the MQTT URL enrolled terminals are told
	offlineAlert                time.Duration // terminal_offline after this long offline; 0: never
	verbose                     bool
}

func serveCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fl := flag.NewFlagSet("serve", flag.ContinueOnError)
	fl.SetOutput(stderr)
	var c serveConfig
	fl.StringVar(&c.dir, "data", "", "the hub's data directory: keys, admin.token and the SQLite ledger (created if missing)")
	fl.StringVar(&c.http, "http", "127.0.0.1:8480", "address of the REST API and dashboard (port 0: a free port)")
	fl.StringVar(&c.mqtt, "mqtt", "127.0.0.1:1884", "address of the embedded MQTT broker terminals connect to (port 0: a free port)")
	fl.StringVar(&c.broker, "broker", "", "use this external MQTT broker instead of the embedded one: mqtt://user:pass@host:port")
	fl.StringVar(&c.terminalBroker, "terminal-broker", "", "with --broker: the MQTT address enrolled terminals are told to use, mqtt://host:port (loopback only) or mqtts://host:port")
	fl.StringVar(&c.db, "db", "", "use this PostgreSQL ledger instead of SQLite: postgres://...")
	fl.DurationVar(&c.offlineAlert, "offline-alert", hub.DefaultOfflineAlertAfter, "raise a terminal_offline alert when a terminal stays offline longer than this, e.g. 30m or 8h (0: never)")
	fl.BoolVar(&c.verbose, "v", false, "log debug detail")
	if err := fl.Parse(args); err != nil {
		return usageErr(err.Error())
	}
	if c.dir == "" || fl.NArg() > 0 {
		return usageErr("serve needs --data DIR (and only flags)")
	}
	if c.offlineAlert < 0 {
		return usageErr(fmt.Sprintf("serve: --offline-alert %s: want a duration ≥ 0 (0: never)", c.offlineAlert))
	}
	if c.terminalBroker != "" {
		if c.broker == "" {
			return usageErr("serve: --terminal-broker goes with --broker (the embedded broker tells terminals its own address)")
		}
		if err := checkTerminalBroker(c.terminalBroker); err != nil {
			return usageErr("serve: --terminal-broker " + err.Error())
		}
	}
	level := slog.LevelInfo
	if c.verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	return serve(ctx, c, stdout, log)
}

// serve runs the hub until ctx ends: the ledger, the broker (embedded or
// external), the MQTT link and the HTTP server. It prints one line per
// listener so scripts find the ports.
func serve(ctx context.Context, c serveConfig, stdout io.Writer, log *slog.Logger) error {
	a, err := openHub(ctx, c.dir, c.db, log, func(cfg *hub.Config) {
		cfg.OfflineAlertAfter = c.offlineAlert
		if c.offlineAlert == 0 {
			cfg.OfflineAlertAfter = -1 // off (0 in hub.Config is the default)
		}
	})
	if err != nil {
		return err
	}
	defer a.close()
	token, err := web.AdminToken(c.dir)
	if err != nil {
		return fmt.Errorf("admin token: %w", err)
	}

	ca, err := openCA(c.dir, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "ca fingerprint %s\n", ca.Fingerprint())
	var transport mqttlink.Transport
	var ready func(context.Context) error
	var b *broker.Broker
	mqttTLS := false
	if c.broker == "" {
		// Logins are held until the link listens on the terminals' topics.
		mtls, err := serverTLS(ca, c.mqtt, time.Now())
		if err != nil {
			return err
		}
		mqttTLS = mtls != nil
		b, err = broker.New(broker.Config{Addr: c.mqtt, Directory: a.hub, Log: log.With("part", "broker"), Hold: true, TLS: mtls})
		if err != nil {
			return err
		}
		if err := b.Start(); err != nil {
			return fmt.Errorf("mqtt listen on %s: %w", c.mqtt, err)
		}
		defer b.Close()
		transport = mqttlink.Embedded(b)
	} else {
		t, err := mqttlink.Dial(ctx, mqttlink.DialConfig{URL: c.broker, Log: log.With("part", "mqtt")})
		if err != nil {
			return fmt.Errorf("external broker: %w", err)
		}
		defer t.Close()
		fmt.Fprintf(stdout, "mqtt connected to %s\n", redact(c.broker))
		transport = t
		ready = func(context.Context) error { return t.Ready() }
	}
	lcfg := mqttlink.Config{Ledger: a.hub, Transport: transport, Log: log.With("part", "mqttlink")}
	if b != nil {
		lcfg.OnRevoked = b.Disconnect // a revoked terminal loses its session at once
	}
	link, err := mqttlink.New(lcfg)
	if err != nil {
		return err
	}
	var linkDone atomic.Bool
	if b != nil {
		ready = func(context.Context) error {
			if err := b.Ready(); err != nil {
				return fmt.Errorf("mqtt broker: %w", err)
			}
			if linkDone.Load() {
				return errors.New("mqtt link stopped")
			}
			return nil
		}
	}
	wcfg := web.Config{Hub: a.hub, Token: token, Log: log.With("part", "web"), Ready: ready, Metrics: link.WriteMetrics}
	switch {
	case b != nil:
		// What POST /api/v1/enroll tells a new terminal: where MQTT is and
		// the CA to trust.
		addr, ok := b.Addr().(*net.TCPAddr)
		if !ok {
			return fmt.Errorf("mqtt address %s is not TCP", b.Addr())
		}
		wcfg.Enroll = &web.EnrollInfo{MQTTPort: addr.Port, MQTTTLS: mqttTLS,
			CAPEM: ca.CertPEM(), CAFingerprint: ca.Fingerprint()}
	case c.terminalBroker != "":
		// With --broker, the address the operator gives; without it the
		// operator configures terminals by hand.
		wcfg.Enroll = &web.EnrollInfo{MQTTURL: c.terminalBroker, CAPEM: ca.CertPEM(), CAFingerprint: ca.Fingerprint()}
	}
	api, err := web.New(wcfg)
	if err != nil {
		return err
	}
	htls, err := serverTLS(ca, c.http, time.Now())
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", c.http)
	if err != nil {
		return fmt.Errorf("http listen on %s: %w", c.http, err)
	}
	if htls != nil {
		ln = tls.NewListener(ln, htls) // HTTPS off loopback
	}
	fmt.Fprintf(stdout, "http listening on %s\n", ln.Addr())
	srv := &http.Server{Handler: api.Handler(), ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(log.With("part", "http").Handler(), slog.LevelDebug)}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	wg.Add(3)
	go func() {
		defer wg.Done()
		if err := link.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			errs <- fmt.Errorf("mqtt link: %w", err)
		}
		linkDone.Store(true)
		cancel()
	}()
	if b != nil {
		select {
		case <-link.Subscribed():
			b.Admit()
			fmt.Fprintf(stdout, "mqtt listening on %s\n", b.Addr())
		case <-ctx.Done():
		}
	}
	go func() {
		defer wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs <- fmt.Errorf("http: %w", err)
		}
		cancel()
	}()
	go func() { // the hub's sweeps (terminal_offline alerts)
		defer wg.Done()
		if err := a.hub.Run(ctx); err != nil {
			errs <- fmt.Errorf("hub: %w", err)
		}
		cancel()
	}()
	log.Info("hub running", "data", c.dir, "version", version, "offline_alert", c.offlineAlert)
	<-ctx.Done()
	// Terminals first, so that none publishes into a link that has stopped
	// listening (its messages would be acknowledged and lost); then the
	// link, then HTTP; the ledger closes last (deferred).
	if b != nil {
		b.Close()
	}
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	api.Close()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("http shutdown timed out; closing the remaining connections", "err", err)
		srv.Close()
	}
	wg.Wait()
	close(errs)
	return errors.Join(collect(errs)...)
}

func collect(ch <-chan error) []error {
	var out []error
	for err := range ch {
		out = append(out, err)
	}
	return out
}

// checkTerminalBroker checks the MQTT URL told to enrolling terminals: the
// address alone, since each terminal logs in with its own credentials.
func checkTerminalBroker(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return fmt.Errorf("%q does not parse: %v", raw, err)
	case u.Scheme != "mqtt" && u.Scheme != "mqtts":
		return fmt.Errorf("%q: want mqtt://host:port or mqtts://host:port", raw)
	case u.Hostname() == "" || u.Port() == "":
		return fmt.Errorf("%q: want host and port", raw)
	case u.User != nil:
		return fmt.Errorf("%q: no user or password (each terminal logs in with its own)", raw)
	case u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.Fragment != "":
		return fmt.Errorf("%q: want only mqtt(s)://host:port", raw)
	}
	return nil
}

// redact hides the password of a broker URL for printing.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	return u.Redacted()
}
