// Package lock is the per-app named lock behind the lock_acquire,
// lock_renew and lock_release host functions: any instance of an app, on
// any node, can take a lock by name, for a while, and gets a fencing token
// with it.
//
//	locks, err := lock.New(lock.Config{KV: kv, JS: js, Owner: nodeID})
//	token, err := locks.Acquire(ctx, name, ttl, wait) // waits up to wait
//	err = locks.Renew(ctx, name, token, ttl)          // extends, same token
//	err = locks.Release(ctx, name, token)             // a waiter takes it at once
//
// A host makes one Table per app, on the app's lock bucket (made with
// BucketConfig; layout.AppLocks names it). A name is 1 to MaxName arbitrary
// bytes; its key is layout.EncodeKey(name), so dots, wildcards and
// non-UTF-8 bytes are data, never syntax, and distinct names never share a
// key.
//
// # Server-side expiry
//
// Every write of a lock carries its own TTL (the Nats-TTL header, which
// the bucket allows through LimitMarkerTTL). The server removes the key
// when it runs out and leaves a marker in its place. So a holder that
// crashes, hangs or is cut off frees its lock after ttl with nothing to
// clean up, and no client clock is involved in deciding when: only the
// server's. The server counts TTLs in whole seconds, so a lock is kept
// for ttl rounded up to the next second (1s for MinTTL): never less than
// asked. It removes the key a fraction of a second late, never early
// (clock skew between servers aside).
//
// A holder cannot know exactly when the server expires its lock, only
// that it is not before ttl after it sent the write. Work under the lock
// must finish within ttl of calling Acquire (or Renew), and renew well
// before that, at half the ttl say: a renewal that reaches the server as
// the key expires loses to the expiry (ErrNotHolder). Whatever the work
// writes to should check the token.
//
// # The revision is the token
//
// Every write is a compare-and-set, published to the key's subject with
// the expected-last-subject-sequence and TTL headers. Acquire writes over
// no key, or over a release or expiry marker at its revision; the
// revision of that write is the fencing token. Revisions are the sequence
// numbers of the bucket's stream, so every later write, and so every later
// holder of any lock of the app, has a larger token; a resource that
// remembers the largest token it has seen refuses a holder that lost its
// lock while paused. The record stored ("OWNER\nTOKEN\nTTL\nNONCE") keeps
// the token across renewals (the acquiring write has token 0: "this
// revision").
//
// Renew rewrites the key over its current revision, after checking that
// the token still holds it, with a new TTL (KeyValue.Update cannot set a
// TTL: its write would never expire). Release purges the key over its
// current revision after the same check; the purge marker itself expires
// after a second, so a released name leaves nothing behind. Storage is on
// file so that revisions, and with them tokens, never start over.
//
// Every read goes to the stream's leader (the message-get API), not
// through KeyValue.Get: a direct get is answered by any replica, and one
// that lags would show a lock just acquired as free to its own holder's
// Renew or Release.
//
// # Waiting by watch
//
// An Acquire that finds the lock held fails at once (wait 0) or waits for
// it to be freed. Waiting never polls: the Acquire calls of a Table that
// wait for one name share one watch of its key (one consumer per name and
// host, however many wait), and every release or expiry marker the watch
// delivers wakes all of them. Each then writes over the marker's
// revision; the server lets exactly one write win, and the others wait
// again while their wait lasts. A waiter takes its wake-up channel before
// each try, so a release that comes between its failed try and its wait
// still wakes it. When the wait ends with the lock still held, Acquire
// answers ErrHeld with who holds it and until when.
//
// As a safety net, the watch also reads the key every two seconds and
// wakes the waiters if it is free: a watch whose consumer lived on a
// server that died delivers nothing until the client notices, 10 to 20
// seconds later, and a release meanwhile would otherwise go unseen.
//
// Every waiter tries on every release: fine for the tens of waiters a lock
// sees, not meant for thousands. There is no queue and no fairness: any
// waiter may win.
//
// # Errors
//
// ErrHeld and ErrNotHolder are abi.ErrConflict, ErrFree is
// abi.ErrNotFound, ErrBadName, ErrBadTTL and ErrBadWait are
// abi.ErrInvalid; a context deadline is abi.ErrTimeout and an unreachable
// stream abi.ErrUnavailable, so abi.StatusOf maps every error to the
// status a guest sees.
//
// Trouble that may pass (a request that timed out or found nobody to
// answer, a cluster without a leader) is retried, each request bounded by
// two seconds: by Acquire while its wait lasts, by the others until ctx
// ends. A write that timed out may have been stored all the same. Acquire
// knows its own write again by the record's nonce, random per call, and
// takes it as acquired; Renew reads before it writes again; a Release
// that finds the lock free or taken by a later holder after such a purge
// reports success. An Acquire
// that gives up after a timeout may still have taken the lock; it expires
// after ttl. In an R3 bucket, no lock changes hands while the stream
// elects a new leader: 5 to 10 seconds after its leader dies.
//
// # Threading
//
// A Table is safe for concurrent use. It owns no goroutine except, while
// Acquire calls wait for a name, the one that watches that name, which
// stops when the last of them returns.
package lock
