// Package sdk is the guest SDK for go-cluster apps written in standard Go.
// An app is a WebAssembly module the go-cluster host runs on its nodes; it
// reaches the outside only through the host functions this package wraps,
// and exposes only the methods it registers here and its manifest lists.
//
// # Writing an app
//
// Register handlers from init and leave main empty:
//
//	package main
//
//	import sdk "github.com/ozanturksever/go-cluster/sdk-go"
//
//	func init() {
//		sdk.Handle("greet", func(payload []byte) ([]byte, error) {
//			greeting, _ := sdk.Config("greeting")
//			return []byte(greeting + ", " + string(payload) + "!"), nil
//		})
//	}
//
//	func main() {}
//
// Build it as a WASI reactor:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o app.wasm .
//
// -buildmode=c-shared matters: it makes Go emit _initialize, which the host
// calls once per instance to run the runtime and package initialisers, and
// it keeps the runtime alive between calls. main.main never runs in this
// mode, which is why handlers are registered from init. A module built
// without it exits after main and traps on its first call.
//
// # Calls
//
// Each call runs one Handler with the request payload. Calls into one
// instance never overlap; the host runs several instances of an app for
// concurrency, so package state is per instance and lost when the host
// replaces one. Keep what matters in the KV store or the database. A
// handler may block (sleep, channels); goroutines it starts run only while
// some call blocks.
//
// # Errors
//
// Errors cross the boundary as a status code with a message, never as a
// trap. Host functions return errors that match the sentinels ErrNotFound,
// ErrConflict, ... with errors.Is, and that carry the host's explanation
// when it has one: SQLite's text for a bad statement, who holds a lock, the
// message of a called app. A handler's error reaches its caller as the
// matching status with its text (see Handler). A handler that panics
// answers StatusInternal with the panic's text; a fatal runtime error (out
// of memory, stack overflow) ends the instance and the host replaces it.
//
// # Calling other apps
//
// Call reaches another app's method over the API bus, as a client would.
// The manifest must list that app under calls (an app may always call
// itself); WithKey routes a call to the owner of a ring partition and
// WithTimeout bounds it. The callee acts with its own capabilities only,
// and its error status comes back to the caller, so errors.Is works across
// hops.
//
// # Database
//
// An app the manifest grants a database has its own SQLite database, which
// the host keeps and replicates. Exec runs a statement, Query returns a
// whole result as Rows whose Row values Scan reads, and Batch runs
// statements in one transaction. Arguments bind to ? parameters:
//
//	res, err := sdk.Exec("INSERT INTO users(email) VALUES (?)", email)
//	rows, err := sdk.Query("SELECT id, email FROM users WHERE id > ?", after)
//	for _, row := range rows.Rows {
//		var id int64
//		var email string
//		err = row.Scan(&id, &email)
//	}
//
// Only the active instance of an active-passive app writes; elsewhere
// writes fail with ErrUnavailable. A constraint violation is ErrConflict,
// bad SQL ErrInvalid.
//
// # Locks
//
// Lock takes a named lock shared by all the app's instances for a time to
// live, optionally waiting for it (WaitFor). The Held lock renews and
// releases it and gives its fencing token, larger for every new holder,
// which writes can carry so a holder that lost the lock cannot clobber its
// successor's work. A lock another instance holds is ErrConflict.
//
// # Events
//
// Publish sends an event on one of the app's topics (the manifest's
// data.events.publish). OnEvent registers the handler of the events the
// app subscribes to, from other apps or from the platform; an error
// refuses an event, and a durable subscription delivers it again.
//
// # Lifecycle
//
// Besides calls, the host sends each instance lifecycle events: OnStart
// before it serves, OnActive and OnPassive as its node takes or leaves the
// active role (pattern active-passive), OnOwn and OnRelease as its node
// gains or gives up partitions (pattern ring), OnMemberJoin and
// OnMemberLeave as nodes come and go, OnEvent for subscribed events, and
// OnStop before it is closed. Register handlers from init for those the
// app cares about; the others succeed as no-ops. CurrentRole, Owned and
// Owns report what the events told the instance so far. An instance added
// later is brought up to date before its first call: OnStart, its role,
// then OnOwn with all the partitions its node owns.
//
//	func init() {
//		sdk.OnActive(func() error { return openWriter() })
//		sdk.OnPassive(func() error { return closeWriter() })
//	}
//
// # Output
//
// Use Log and Logf: they reach the host's log labelled with the app and the
// node. Whether stdout and stderr go anywhere is up to the host.
//
// # Outside a host
//
// The package builds for every GOOS. Outside wasip1 there is no host: every
// host function fails with ErrUnavailable, Config reports false and
// ABIVersion returns 0, so an app's pure logic can be unit-tested natively.
package sdk
