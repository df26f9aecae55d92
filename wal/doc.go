// Package wal gives one app its own SQLite database, replicated with
// Litestream to a NATS JetStream object store, with exactly one writer at
// a time and every other instance following as a read-only standby.
//
//	d, err := wal.New(wal.Config{Path: p, Replica: store, Fences: kv, FenceKey: app})
//	err = d.Open(ctx)             // standby: restore, then follow
//	err = d.Promote(ctx, token)   // writer, under the lease's token
//	res, err := d.Exec(ctx, "INSERT ...", params)
//	err = d.Demote(ctx)           // standby again
//
// # Replica layout
//
// Litestream (v0.5) turns each sync of the WAL into an LTX file with a
// TXID range, compacts them into higher levels (1-3) and takes full
// snapshots (level 9). Every file goes to the object store as
//
//	g<generation>/<level>/<minTXID>-<maxTXID>.ltx
//
// A generation is one term of one writer. Putting it in the name means two
// writers never write the same object: a writer that does not know it was
// replaced cannot overwrite anything of its successor's.
//
// # The fence record
//
// The key FenceKey in the fence bucket holds an ordered list of
// generations {gen, token, first TXID, reset, time}. It only grows at the
// end and shrinks at the front, always by compare-and-set on the revision
// read. A writer is current while its generation is the last one.
//
// Fencing rule: a file of generation g counts only if g is in the record
// and finalized (first TXID set), no finalized reset generation comes
// after it, and the file's max TXID is below the first TXID of the next
// finalized generation. Readers apply the rule to every listing, so files
// a former writer uploads after it was replaced either fail it or lie
// inside the history its successor started from. They can never overwrite
// or extend the replica; the writer deletes them later and trims
// generations with no files left from the front of the record. (Only the
// front: a generation's boundary depends on the ones after it.)
//
// # Promotion
//
//  1. Claim: append a pending generation (token checked: a record holding
//     a newer lease token refuses the claim). From this write on the
//     former writer's checks fail.
//  2. List the replica and apply every valid file to the local copy. The
//     listing comes after the claim, so it holds everything the former
//     writer acknowledged (see below).
//  3. Finalize: set the generation's first TXID to the copy's TXID + 1,
//     which fixes the former generation's boundary.
//  4. Start Litestream on the copy. Its local state is primed to say
//     "at TXID m, at the start of the current WAL", so its first LTX file
//     is TXID m+1 holding only what changed since: promotion does not
//     re-ship the database. Promote returns once that file is shipped;
//     compaction starts after the primed file is gone, since Litestream
//     prefers local files to the replica's.
//
// A pending generation never wrote (a writer writes only once finalized),
// and only the last generation can be finalized, so pending generations
// left by failed promotions are void and ignored.
//
// # Acknowledged writes
//
// Under Sync, Exec returns after: the commit; Litestream's sync of the WAL
// into L0 files; their upload; and a compare-and-set rewrite of the fence
// record over the revision last seen. The last step is the fence check.
// It is a write, not a read, because reads of a replicated bucket may be
// answered by a lagging replica; a compare-and-set only succeeds over the
// latest revision. So an acknowledged write was uploaded before the check,
// the check came before any later claim, and the claimer lists after its
// claim: the new writer always sees it. Concurrent writers share a ship:
// one that finds its commit already covered returns at once. Under Async,
// Exec returns after the local commit and a background ship runs every
// SyncInterval.
//
// A writer also checks the record it last saw (kept current by a watch)
// before each upload, becomes read-only (ErrFenced) once it sees a newer
// generation, and confirms with a compare-and-set before every delete.
// Litestream deletes a file only after uploading what replaces it, so a
// claimer after the confirmation sees the replacement.
//
// # Standbys
//
// A standby's copy is a rollback-journal database (not WAL): the follower
// writes LTX pages straight into it, with the readers closed while it
// does, and reopened after. The catalog keeps the object list and the
// record current through watches, so following does not relist the
// bucket. A copy applies files of the lowest level that bridges its
// position; when nothing bridges (history compacted past it), when an
// import started a new lineage, or when a file it applied turned out void
// (a former writer's upload seen before the promotion's finalize), it is
// rebuilt with a full restore. Open always restores in full.
//
// # Import and export
//
// Export rebuilds a state with Litestream's restore plan over the valid
// files and writes a plain database file. Import uploads a database as a
// snapshot of a new reset generation (claimed pending first, finalized
// after the upload), which voids every earlier generation and so fences a
// running writer; TXIDs go on from the replica's.
//
// # Guest SQL
//
// Exec, Batch and Query run an app's SQL on connections under an
// authorizer (guard.go): nothing outside the database file (no ATTACH, no
// VACUUM INTO, no extensions), no pragma that changes journaling or
// checkpoints, and no transaction statements. Batch makes transactions;
// a guest's BEGIN left open would have the writer acknowledge writes that
// never commit.
//
// # Why our own replica client
//
// The stock litestream/nats client dials its own connection from a URL,
// one per client, with its own credentials, and writes plain paths. Ours
// runs on the host's connection through the object store handle it is
// given, names files by generation, lists only what the record deems
// valid, and refuses uploads and deletes once fenced.
//
// # Costs
//
// Open restores the whole database; a promotion applies what its copy
// lacks and ships one small file. Litestream snapshots on its own
// schedule (SnapshotInterval, aligned to the clock), so a new writer
// snapshots at once only if its predecessor had not in the current
// interval. Litestream adds two tables of its own to the database
// (_litestream_seq, _litestream_lock). The object store keeps a marker
// for every deleted object; with Config.JetStream the writer purges them,
// without it they accumulate.
package wal
