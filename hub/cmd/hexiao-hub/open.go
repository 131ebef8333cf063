package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/hexiao/hexiao/hub"
	"github.com/hexiao/hexiao/hub/sqlite"
)

// Files under the data directory besides the hub's key files.
const (
	DBFile   = "hub.db"
	LockFile = "lock" // held by the one process that has DIR open
)

// app is an open hub: its ledger, its keys and the lock on its directory.
type app struct {
	dir   string
	hub   *hub.Hub
	store hub.Store
	lock  *os.File
}

// openHub locks dir (one process per data directory), opens its keys and
// the ledger (SQLite under dir unless db names PostgreSQL) and makes the
// hub; each of opts may change the hub's Config first.
func openHub(ctx context.Context, dir, db string, log *slog.Logger, opts ...func(*hub.Config)) (*app, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, LockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s is in use by another hexiao-hub process (stop it first)", dir)
		}
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	a := &app{dir: dir, lock: lock}
	sec, err := hub.OpenSecrets(dir)
	if err != nil {
		a.close()
		return nil, err
	}
	switch {
	case db == "":
		st, err := sqlite.Open(filepath.Join(dir, DBFile), log)
		if err != nil {
			a.close()
			return nil, err
		}
		a.store = st
	case strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://"):
		a.close()
		return nil, errors.New("--db postgres://: the PostgreSQL ledger is not built yet; leave --db out for SQLite under --data")
	default:
		a.close()
		return nil, usageErr("--db wants a postgres:// URL")
	}
	cfg := hub.Config{Store: a.store, Secrets: sec, Log: log, App: version}
	for _, o := range opts {
		o(&cfg)
	}
	a.hub, err = hub.New(ctx, cfg)
	if err != nil {
		a.close()
		return nil, err
	}
	return a, nil
}

func (a *app) close() error {
	var err error
	if a.store != nil {
		err = a.store.Close()
	}
	a.lock.Close()
	return err
}

func discardLog() *slog.Logger { return slog.New(slog.DiscardHandler) }
