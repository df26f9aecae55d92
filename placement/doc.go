// Package placement decides which nodes run which apps. It is a pure
// function: apps, nodes and the previous assignment in, the next assignment
// out. No I/O, no clocks, no randomness: the same input always gives the
// same output, whatever the order of the apps and nodes given. The elected
// scheduler calls Compute and stores the result; every host reconciles its
// own instances to it.
//
//	next := placement.Compute(apps, nodes, prev)
//	next["cache"].Nodes        // [n1 n2 n3 n4 n5]
//	next["cache"].Partitions   // n1 -> [3 7 12 ...], ...
//	next["convex"].Nodes[0]    // n1: the preferred active
//	next["worker"].Reason      // "only 2 of 3 replicas: n4, n5 are cordoned"
//
// # Eligibility
//
// A node is eligible for an app when every hard rule of the app's
// manifest.Placement holds, as (*manifest.Placement).Eligible reads them:
// nodes, labels, selectors (equals, in, notin, exists, notexists), avoid,
// with (the node runs that app) and awayFrom (it does not). "Runs" means
// the app is in this computation's result on that node.
//
// Node states narrow that further:
//
//   - A draining node keeps nothing: no app is placed on it, and what ran
//     there moves off.
//   - A cordoned node takes nothing new: an app already on it (in the
//     previous assignment) stays while its rules still hold, and nothing
//     else is added. A cordoned node that keeps an instance is an ordinary
//     member otherwise: it counts towards replicas and owns ring
//     partitions.
//   - Neither is ever the preferred active (Nodes[0]) while another node is
//     eligible: cordoned nodes are listed after all others. So cordoning
//     the node of a singleton's preferred active hands the preference to
//     another node while the instance stays as a standby: cordon demotes,
//     drain removes.
//
// # Modes
//
// Eligible nodes are ranked by the manifest's Score (the prefer weights
// they match), highest first, then by a rendezvous (highest random weight)
// hash of (app, node), so apps with equal preferences still spread across
// the cluster, and then by node id.
//
//   - singleton: every eligible node gets an instance; the first is the
//     preferred active (the lease picks the real one) and the others are
//     warm standbys. The previous preferred active keeps its place while it
//     is eligible and not cordoned, even if a node with a higher score
//     appears: moving an active role is a failover, and a soft preference
//     is no reason for one. Otherwise the best-ranked node comes first.
//   - spread: every eligible node, in rank order.
//   - replicas: N eligible nodes. Previous holders stay while eligible
//     (minimal movement; prefer ranks new choices, it does not evict), the
//     best-ranked of them when N shrinks (uncordoned ones first); free slots
//     go to the best-ranked other nodes. Fewer than N eligible nodes place
//     as many as there are, with a Reason.
//
// The operator's move (App.MoveTo) puts that node first and, for
// replicas, makes sure it holds one (the lowest-ranked previous holder
// makes room). A move to a node that is unknown, ineligible, cordoned or
// draining is not done, and the Reason says why.
//
// # Ring
//
// With pattern ring, partitions 0..P-1 (default 256) are split among the
// app's nodes: partition p belongs to the node with the highest
// rendezvous weight for (app, p, node). Each partition has exactly one
// owner, and the split depends only on the set of nodes, so a node that
// leaves gives up exactly its own partitions and a node that joins takes
// about P/n of them from the others, nothing else moving. Keys map to
// partitions with PartitionOf, a stable hash that SDKs may reimplement.
//
// # Order between apps
//
// An app is placed after the apps its with and awayFrom rules name, so
// those are already known. Anti-affinity is symmetric in effect, so when
// two apps name each other in awayFrom, the one whose name sorts first is
// placed first and the other keeps away from it. Any other cycle (a with
// b, b with a; or a with b, b awayFrom a) leaves every app in it unplaced,
// with a Reason naming the rules. Placing an app can only change apps that
// name it, so a move of one app can move the apps placed with or away from
// it: minimal movement holds per app, not across such rules.
//
// # Reasons
//
// An app that is placed on fewer nodes than asked (none, or fewer than its
// replicas), or whose move could not be done, says why in Reason, in words
// for `go-cluster apps` and `status`: which nodes were left out and the
// first rule each one fails, e.g. "no node matches selector zone in [a]" or
// "only 2 of 3 replicas: n4, n5 are cordoned". An empty Reason means the
// app runs as asked.
//
// # Bad input
//
// Compute never panics. A node with an empty id is ignored ("" means no
// node in Owner and Moves). A node id listed twice is one node with the
// strictest state of the copies (cordoned or draining if any copy is) and
// only the labels all copies agree on. An app name listed twice, an
// unknown mode or pattern, replicas below 1 or a ring size outside 1 to
// manifest.MaxPartitions leave the app unplaced with a Reason.
package placement
