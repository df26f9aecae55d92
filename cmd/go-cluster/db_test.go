package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ozanturksever/go-cluster/internal/testwasm"
)

// ledgerDir writes a manifest for the test guest with a sync database.
func ledgerDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	yaml := "name: ledger\nversion: 1.0.0\nwasm: app.wasm\napi: [insert, ids]\ndata: {db: {durability: sync}}\n"
	if err := os.WriteFile(filepath.Join(dir, "app.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	wasm := testwasm.Build(t, "plugins/testdata/guests/testapp")
	if err := os.WriteFile(filepath.Join(dir, "app.wasm"), wasm, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

var txidRe = regexp.MustCompile(`at TXID (\d+)`)

// TestCLIDatabaseSnapshots takes a snapshot, exports the database, loads
// it into a second platform, and rolls the first back to the snapshot.
func TestCLIDatabaseSnapshots(t *testing.T) {
	first, second := startHostCmd(t), startHostCmd(t)
	dir := ledgerDir(t)
	for _, url := range []string{first, second} {
		if r := cli(t, "", "deploy", "--nats", url, filepath.Join(dir, "app.yaml")); r.code != 0 {
			t.Fatalf("deploy: %+v", r)
		}
	}
	for _, id := range []string{"a", "b"} {
		if r := cli(t, "", "call", "--nats", first, "ledger", "insert", id); r.code != 0 {
			t.Fatalf("insert %s: %+v", id, r)
		}
	}
	r := cli(t, "", "db", "snapshot", "--nats", first, "ledger")
	m := txidRe.FindStringSubmatch(r.stdout)
	if r.code != 0 || m == nil {
		t.Fatalf("db snapshot: %+v", r)
	}
	if r := cli(t, "", "db", "snapshots", "--nats", first, "ledger"); r.code != 0 || !strings.Contains(r.stdout, m[1]) {
		t.Fatalf("db snapshots: %+v", r)
	}
	file := filepath.Join(t.TempDir(), "ledger.db")
	if r := cli(t, "", "db", "export", "--nats", first, "-o", file, "ledger"); r.code != 0 {
		t.Fatalf("db export: %+v", r)
	}
	if r := cli(t, "", "db", "restore", "--nats", second, "--file", file, "ledger"); r.code != 0 {
		t.Fatalf("db restore into the second platform: %+v", r)
	}
	eventually(t, "restored rows on the second platform", func(r result) bool { return r.stdout == "a\nb\n" },
		"call", "--nats", second, "ledger", "ids")

	if r := cli(t, "", "call", "--nats", first, "ledger", "insert", "c"); r.code != 0 {
		t.Fatalf("insert c: %+v", r)
	}
	if r := cli(t, "", "db", "restore", "--nats", first, "--snapshot", m[1], "ledger"); r.code != 0 {
		t.Fatalf("db restore --snapshot: %+v", r)
	}
	eventually(t, "rolled back to the snapshot", func(r result) bool { return r.stdout == "a\nb\n" },
		"call", "--nats", first, "ledger", "ids")

	eventually(t, "status shows the database's position", func(r result) bool { return strings.Contains(r.stdout, "[db txid ") },
		"status", "--nats", first)

	if r := cli(t, "", "db", "restore", "--nats", first, "ledger"); r.code != 2 || !strings.Contains(r.stderr, "--file") {
		t.Errorf("restore without a source: %+v", r)
	}
	if r := cli(t, "", "db", "snapshots", "--nats", first, "ghost"); r.code != 1 || !strings.Contains(r.stderr, "data.db") {
		t.Errorf("snapshots of an app without a database: %+v", r)
	}
}
