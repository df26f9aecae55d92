package sdk_test

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	sdk "github.com/ozanturksever/go-cluster/sdk-go"
)

// An app registers its methods from init and leaves main empty; the host
// runs init once per instance and calls the handlers.
func Example() {
	// func init() {
	sdk.Handle("example.greet", func(payload []byte) ([]byte, error) {
		if len(payload) == 0 {
			return nil, fmt.Errorf("greet whom? %w", sdk.ErrInvalid)
		}
		greeting, ok := sdk.Config("greeting")
		if !ok {
			greeting = "Hello"
		}
		sdk.Logf(sdk.LevelDebug, "greeting %q", payload)
		return []byte(greeting + ", " + string(payload) + "!"), nil
	})
	// }
	//
	// func main() {}
}

// A counter in the app's KV store, incremented with compare-and-set: create
// the key if it is absent, else update it at the revision read, and start
// over when another instance wrote in between.
func ExampleKVUpdate() {
	incr := func() (uint64, error) {
		for {
			val, rev, err := sdk.KVGet("counter")
			var n uint64
			switch {
			case errors.Is(err, sdk.ErrNotFound):
				_, err = sdk.KVCreate("counter", []byte("1"))
				n = 1
			case err != nil:
				return 0, err
			default:
				if n, err = strconv.ParseUint(string(val), 10, 64); err != nil {
					return 0, sdk.NewError(sdk.StatusInternal, "counter is not a number")
				}
				n++
				_, err = sdk.KVUpdate("counter", strconv.AppendUint(nil, n, 10), rev)
			}
			if errors.Is(err, sdk.ErrConflict) {
				continue
			}
			return n, err
		}
	}
	sdk.Handle("example.incr", func([]byte) ([]byte, error) {
		n, err := incr()
		if err != nil {
			return nil, err
		}
		return strconv.AppendUint(nil, n, 10), nil
	})
}

// A handler chooses the status its caller sees by returning a sentinel, an
// error wrapping one, or an *sdk.Error.
func ExampleError() {
	sdk.Handle("example.user", func(id []byte) ([]byte, error) {
		val, _, err := sdk.KVGet("user/" + string(id))
		if errors.Is(err, sdk.ErrNotFound) {
			return nil, &sdk.Error{Status: sdk.StatusNotFound, Message: "no user " + string(id)}
		}
		return val, err // other errors keep their status
	})
}

// An active-passive app runs its schedule only on the active node: the host
// calls OnActive when this node takes the lease and OnPassive when it is,
// or becomes, a standby. An error from OnActive makes the host step down.
func ExampleOnActive() {
	var ticking bool
	sdk.OnActive(func() error {
		if _, err := sdk.KVPut("leader-seen", []byte("1")); err != nil {
			return fmt.Errorf("cannot take over: %w", err)
		}
		ticking = true
		return nil
	})
	sdk.OnPassive(func() error {
		ticking = false
		return nil
	})
	sdk.Handle("example.tick", func([]byte) ([]byte, error) {
		if !ticking || sdk.CurrentRole() != sdk.RoleActive {
			return nil, fmt.Errorf("standby: %w", sdk.ErrUnavailable)
		}
		return []byte("tick"), nil
	})
}

// A ring app serves only the partitions its node owns. OnOwn and OnRelease
// bracket each partition's life on this node; sdk.Owns answers from the
// state they recorded.
func ExampleOnOwn() {
	const partitions = 256
	cache := map[int]map[string][]byte{}
	sdk.OnOwn(func(owned []int) error {
		for _, p := range owned {
			cache[p] = map[string][]byte{}
		}
		return nil
	})
	sdk.OnRelease(func(released []int) error {
		for _, p := range released {
			delete(cache, p)
		}
		return nil
	})
	sdk.Handle("example.get", func(key []byte) ([]byte, error) {
		p := int(crc(key) % partitions)
		if !sdk.Owns(p) {
			return nil, fmt.Errorf("partition %d lives elsewhere: %w", p, sdk.ErrUnavailable)
		}
		v, ok := cache[p][string(key)]
		if !ok {
			return nil, sdk.ErrNotFound
		}
		return v, nil
	})
}

// crc is a stand-in for the app's partitioning hash.
func crc(b []byte) uint32 {
	var h uint32 = 2166136261
	for _, c := range b {
		h = (h ^ uint32(c)) * 16777619
	}
	return h
}

// A handler calls another app, listed under calls in the manifest, with the
// key that picks the owner of a ring partition. The callee's error status
// comes back as its sentinel.
func ExampleCall() {
	// func init() {
	sdk.Handle("example.profile", func(payload []byte) ([]byte, error) {
		user := string(payload)
		out, err := sdk.Call("cache", "get", payload, sdk.WithKey(user), sdk.WithTimeout(200*time.Millisecond))
		if errors.Is(err, sdk.ErrNotFound) {
			return nil, &sdk.Error{Status: sdk.StatusNotFound, Message: "no profile for " + user}
		}
		if err != nil {
			return nil, fmt.Errorf("cannot read the cache: %w", err)
		}
		return out, nil
	})
	// }
}

// A handler keeps users in the app's database: Exec for statements that
// return no rows, Query for those that do. Arguments bind to the ?s in
// order. A constraint violation comes back as ErrConflict carrying
// SQLite's message.
func ExampleExec() {
	// func init() {
	sdk.OnStart(func() error {
		_, err := sdk.Exec(`CREATE TABLE IF NOT EXISTS users (
			id INTEGER PRIMARY KEY, email TEXT UNIQUE NOT NULL, name TEXT)`)
		return err
	})
	sdk.Handle("example.signup", func(email []byte) ([]byte, error) {
		res, err := sdk.Exec("INSERT INTO users(email, name) VALUES (?, ?)", string(email), nil)
		if errors.Is(err, sdk.ErrConflict) {
			return nil, fmt.Errorf("%s is taken: %w", email, err)
		}
		if err != nil {
			return nil, err
		}
		return strconv.AppendInt(nil, res.LastInsertID, 10), nil
	})
	// }
}

// Query returns the whole result; Scan reads each row into typed
// variables. A nullable column scans into *any (or *[]byte).
func ExampleQuery() {
	sdk.Handle("example.names", func(prefix []byte) ([]byte, error) {
		rows, err := sdk.Query("SELECT id, name FROM users WHERE email LIKE ? || '%' ORDER BY id LIMIT 100", string(prefix))
		if err != nil {
			return nil, err
		}
		var out []byte
		for _, row := range rows.Rows {
			var id int64
			var name any // NULL when unset
			if err := row.Scan(&id, &name); err != nil {
				return nil, err
			}
			if s, ok := name.(string); ok {
				out = fmt.Appendf(out, "%d %s\n", id, s)
			}
		}
		return out, nil
	})
}

// Batch runs statements in one transaction: both updates happen, or
// neither does. With CHECK (balance >= 0) on the table an overdraft fails
// the first update, and the whole batch with it, with ErrConflict.
func ExampleBatch() {
	sdk.Handle("example.transfer", func([]byte) ([]byte, error) {
		const amount, from, to = 10, 1, 2
		_, err := sdk.Batch(
			sdk.Stmt{SQL: "UPDATE accounts SET balance = balance - ? WHERE id = ?", Args: []any{amount, from}},
			sdk.Stmt{SQL: "UPDATE accounts SET balance = balance + ? WHERE id = ?", Args: []any{amount, to}},
		)
		if errors.Is(err, sdk.ErrConflict) {
			return nil, fmt.Errorf("insufficient funds: %w", err)
		}
		return nil, err
	})
}

// One instance at a time writes the nightly report: the others find the
// lock taken and skip it. Every write carries the fencing token, so a
// holder that stalled past the TTL and lost the lock cannot overwrite the
// work of the one that took it next.
func ExampleLock() {
	sdk.Handle("example.report", func([]byte) ([]byte, error) {
		held, err := sdk.Lock("nightly-report", 30*time.Second, sdk.WaitFor(time.Second))
		if errors.Is(err, sdk.ErrConflict) {
			return []byte("another instance is on it"), nil
		}
		if err != nil {
			return nil, err
		}
		defer held.Release()
		for part := range 3 {
			_, err := sdk.Exec("UPDATE report SET done = 1, token = ? WHERE part = ? AND token < ?",
				held.Token(), part, held.Token())
			if err != nil {
				return nil, err
			}
			if err := held.Renew(30 * time.Second); err != nil {
				return nil, fmt.Errorf("lost the lock: %w", err)
			}
		}
		return []byte("done"), nil
	})
}

// An app publishes on its own topics, listed in its manifest under
// data.events.publish.
func ExamplePublish() {
	sdk.Handle("example.order", func(order []byte) ([]byte, error) {
		if _, err := sdk.Exec("INSERT INTO orders(body) VALUES (?)", order); err != nil {
			return nil, err
		}
		return nil, sdk.Publish("created", order)
	})
}

// An app receives the events of the topics it subscribes to. An error
// refuses the event, and a durable subscription delivers it again later,
// so the handler is idempotent.
func ExampleOnEvent() {
	// func init() {
	sdk.OnEvent(func(e sdk.Event) error {
		switch {
		case e.Source == "orders" && e.Topic == "created":
			_, err := sdk.Exec("INSERT OR IGNORE INTO seen(body) VALUES (?)", e.Data)
			return err
		case e.Source == "platform":
			sdk.Logf(sdk.LevelInfo, "platform event %s: %s", e.Topic, e.Data)
		}
		return nil
	})
	// }
}
