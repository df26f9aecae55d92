// Package lease is the fenced lease behind every singleton role: an app's
// active instance, the platform scheduler, a node's membership (one key per
// node, the holder its running instance), later the VIP.
//
// A lease is one key in a lease bucket (NATS JetStream KV made with
// BucketConfig). A Lease campaigns for it on behalf of one holder; winning
// yields a Term, which renews itself until it ends. Its Context is
// cancelled the moment it ends, and its Token fences everything the role
// touches: the token of every later term of the key is larger.
//
//	l, err := lease.New(lease.Config{KV: kv, Key: "app.cache", Holder: instanceID})
//	term, err := l.Campaign(ctx)           // blocks until acquired
//	run(term.Context(), term.Token())      // stops when the term ends
//	err = term.Resign(ctx)                 // hand over at once
//
// # How it works
//
// Every write is a compare-and-set on the key's last revision. The write
// that begins a term is made over a free key (absent, or a delete or
// expiry marker); its revision is the term's token. Renewals rewrite the
// key over the term's own last revision and keep the token. The record is
// "HOLDER\nTOKEN\nVALUE" (the first write has token 0: "this revision").
//
// The server expires a write that is not renewed: the bucket's TTL
// (stream MaxAge) equals the lease TTL, and limit markers (LimitMarkerTTL)
// turn the expiry into a marker that the standbys' watch delivers. A
// standby never polls: Campaign watches the key and tries when it sees a
// delete or a marker. (It also re-reads the key every 4 TTL, as a safety
// net for a watch that missed an event.) A resigning holder cancels its
// term, then purges the key with a compare-and-set on its last revision,
// so a standby acquires within a few round trips.
//
// The holder keeps a local deadline: send time of its last acknowledged
// write + TTL - Margin. A renewal counts only if acknowledged before it;
// every attempt carries it as its context deadline. When it passes, the
// term ends (ErrExpired). A conflict on renewal means someone else wrote
// the key (ErrLost), unless the key still names this term: then it was
// the term's own write whose acknowledgement was lost, and it carries on.
//
// # Timing
//
// T = TTL, R = Renew, M = Margin, and p the lateness of the server's
// expiry (0 <= p <= P). The holder sends a write at s; the server stores
// it at ts >= s and acknowledges at a.
//
// Safety. The holder's term ends at the latest at D = s + T - M (its
// clock). The server cannot expire the write before ts + T >= s + T = D + M
// (the stream leader's clock), and a standby can only write over the
// expiry marker, after that. So the old term has ended at least M before a
// new one begins. A renewal acknowledged before D was stored before the
// previous write could expire, so expiry never races a renewal that
// counted. M covers the drift between the holder's and the servers' clock
// rates over T (microseconds), the wall-clock skew between the stream
// leader that stored a write and a new leader that expires it (NTP on a
// LAN: milliseconds), and the moment the holder's work takes to see the
// cancelled context. A server clock stepped forward by more than M can
// expire a key early; the fencing token is the backstop for that.
//
// Expiry precision (nats-server 2.15.2, memstore/filestore resetAgeChk):
// the age check is a timer set for the next expiry but never sooner than
// 250ms ahead, and the file store reads the time from a clock that ticks
// every 100ms. Measured with one lease key renewed every 400-600ms: file
// storage expires 20-310ms late, memory storage 1-20ms late (up to 250ms
// with many keys expiring close together). So P is about 350ms for the
// file storage that BucketConfig picks: the token is the bucket's
// revision, and a bucket in memory would restart it at 1 after the whole
// cluster restarts.
//
// Crash failover. The holder dies at k, R or less after sending its last
// renewal at s. The standby's term begins at ts + T + p + one watch
// delivery + one compare-and-set write, so k-to-new-term is between
// T - R + p and T + p plus a few milliseconds. With the defaults (T 1.2s,
// R 400ms, M 200ms) that is 0.8s to about 1.55s, about 1.15s on average,
// which leaves the new holder at least 400ms of a 2s budget to become
// active. Graceful failover (Resign) is two writes and a watch delivery:
// under a millisecond on a local cluster.
//
// Measured by BenchmarkFailover (20 trials each, 2 vCPU, servers in
// process; kill or Resign to the new term's start):
//
//	                   p50       p99
//	crash, 1 server    1174ms    1495ms
//	crash, R3          1197ms    1443ms
//	graceful, 1 server 0.23ms    0.42ms
//	graceful, R3       0.59ms    0.90ms
//
// Renewal tolerance. A holder renews R after each acknowledged send,
// retries a failure at once (each attempt bounded by R/2, so a request lost
// to a reconnect is sent again) and gives up at D: it rides out trouble of
// T - M - R = 600ms (defaults) from the moment a renewal was due. The NATS
// connection must reconnect well within that (ReconnectWait ~50-100ms).
// A holder that stepped down but reaches NATS again before the server
// expired its key takes it straight back (a key that names the Lease's own
// holder is taken over at once), under a new token.
//
// Stream leader loss. In an R3 bucket, no write succeeds from the moment
// the stream's leader dies until the survivors elect another: 4-9s with
// nats-server's raft defaults. The holder steps down at D, the new leader
// expires the key, and a standby takes over: about 6s measured. The
// lease's settings cannot shorten that.
//
// Load: each held lease writes 1/R times a second (2.5/s by default), and
// each write reaches every standby's watch.
//
// # Threading
//
// Lease and Term methods are safe for concurrent use. A Lease holds at
// most one term at a time (ErrActive otherwise); Holder must be unique per
// process and role and never reused by another process, since a key that
// names it is taken over without waiting. Each Term owns one goroutine
// that renews it and exits as soon as the term ends; Resign ends the term
// and waits for it. Campaign owns its watch and stops it before it
// returns. Nothing else runs in the background.
package lease
