package wal

import (
	"database/sql"
	"errors"
	"strings"
	"sync"
	"sync/atomic"

	"modernc.org/sqlite"
)

// guestDriver is the driver of the connections a guest's SQL runs on. Its
// connections compile every statement under authorize, installed after
// the DSN's own pragmas have run, so a guest stays inside its database
// file: it cannot attach another file (another app's database, say), write
// one with VACUUM INTO, or change how the file is journaled and
// checkpointed under Litestream.
const guestDriver = "sqlite-gocluster-guest"

func init() {
	d := &sqlite.Driver{}
	d.RegisterConnectionHook(func(c sqlite.ExecQuerierContext, dsn string) error {
		r, ok := c.(sqlite.AuthorizerRegisterer)
		if !ok {
			return errors.New("wal: the sqlite driver offers no authorizer; refusing to run guest SQL without one")
		}
		own := ownStatements(dsn)
		return r.RegisterAuthorizer(func(action sqlite.AuthorizerActionCode, arg1, arg2, db, trigger string) sqlite.AuthorizerReturnCode {
			if own.Load() {
				return sqlite.AuthorizerOK
			}
			return authorize(action, arg1, arg2, db, trigger)
		})
	})
	sql.Register(guestDriver, d)
}

// Transactions are the writer's: Batch begins and commits them. A guest's
// BEGIN or SAVEPOINT left open would make the writer acknowledge writes
// that never commit (and hold the write lock against Litestream), so the
// authorizer refuses them; the writer lets its own through by raising the
// flag registered for its DSN while it begins, commits or rolls back.
var owners sync.Map // DSN -> *atomic.Bool

// ownStatements returns the flag of the connections opened on dsn (a
// lowered one for a DSN nobody registered).
func ownStatements(dsn string) *atomic.Bool {
	if f, ok := owners.Load(dsn); ok {
		return f.(*atomic.Bool)
	}
	return new(atomic.Bool)
}

// guestPragmas are the pragmas a guest may run: reading its schema and
// checking its data, and the per-connection foreign key switch.
var guestPragmas = map[string]bool{
	"table_info": true, "table_xinfo": true, "table_list": true, "index_list": true,
	"index_info": true, "index_xinfo": true, "foreign_key_list": true, "foreign_key_check": true,
	"integrity_check": true, "quick_check": true, "page_count": true, "page_size": true,
	"freelist_count": true, "user_version": true, "application_id": true,
	"foreign_keys": true, "collation_list": true, "function_list": true, "data_version": true,
}

// authorize is the guest's SQL policy. ATTACH covers VACUUM INTO too,
// which SQLite compiles as an attach of the target file.
func authorize(action sqlite.AuthorizerActionCode, arg1, _, db, _ string) sqlite.AuthorizerReturnCode {
	switch action {
	case sqlite.AuthAttach, sqlite.AuthDetach, sqlite.AuthTransaction, sqlite.AuthSavepoint:
		return sqlite.AuthorizerDeny
	case sqlite.AuthPragma:
		if guestPragmas[strings.ToLower(arg1)] {
			return sqlite.AuthorizerOK
		}
		return sqlite.AuthorizerDeny
	case sqlite.AuthFunction:
		if strings.EqualFold(arg1, "load_extension") {
			return sqlite.AuthorizerDeny
		}
	}
	if db != "" && db != "main" && db != "temp" {
		return sqlite.AuthorizerDeny
	}
	return sqlite.AuthorizerOK
}
