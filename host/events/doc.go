// Package events carries the events apps publish and the platform's own
// (node_join, node_leave, leader, deploy, undeploy, backend, vip) to the apps that
// subscribe to them, through one JetStream stream per platform.
//
//	stream, err := events.Ensure(ctx, js, events.StreamConfig(l, 3, 0))
//	bus := events.New(js, l)
//	seq, err := bus.Publish(ctx, "cache", "updated", data)       // gc.P.ev.cache.updated
//	err = bus.PublishPlatform(ctx, manifest.EventNodeJoin, data, "join.n1.17")
//	sub, err := bus.Subscribe(ctx, events.Spec{App: "audit", Sources: []string{"cache.*", "platform.leader"}, Durable: true}, h)
//	err = sub.Close(ctx)
//
// # Names
//
// Every subject comes from layout: an app's topic T is
// layout.EventSubject(app, T), a platform event of kind K is
// EventSubject(layout.PlatformApp, K), and the stream holds
// layout.EventsSubjects(). Publish only ever writes the publishing app's
// own subject; topics, kinds and subscription sources are checked with the
// manifest's rules (manifest.ValidEventName, manifest.ParseSubscription)
// before they reach a subject, so a dot or wildcard cannot widen one.
// The host checks the manifest's publish list before calling Publish.
//
// # Why a stream, not plain NATS subjects
//
// Both kinds of subscription read the stream. A core NATS subscription
// would be cheaper for live events, but in a cluster the interest of a
// new subscription reaches the other servers a moment later, and a
// reconnect loses what was published meanwhile: "every event published
// after Subscribe returned" could not be promised. A consumer's start is a
// stream sequence, so it can.
//
// # Live subscriptions (Durable false)
//
// Each subscription has its own ordered consumer (in memory, one
// replica, acknowledging nothing) starting at the stream's next sequence
// when Subscribe runs. Every node of an app therefore sees every event,
// in stream order, including across reconnects: the consumer is recreated
// after the last sequence delivered. A handler's error is logged; the
// event is not delivered again.
//
// # Durable subscriptions
//
// All subscriptions with the same app and the same set of sources share
// one durable pull consumer, named from the app and a hash of the sorted
// sources (a changed set is a new consumer; the old one is removed by the
// server after Spec.Inactive without subscribers). The consumer filters
// on every source's subject at once, with sources another covers dropped
// (other.x beside other.*), as the server refuses overlapping filters.
// Since every node of the app pulls from the same consumer, each event is
// handled by one node. The consumer starts with the events published
// after it was first created and keeps its place while no node runs.
//
// Each subscription fetches one event at a time, with a pull request per
// event (an event waiting in one node's buffer is one no other node can
// take), and hands it to the handler; while the handler runs, the delivery is kept alive
// (InProgress every AckWait/3), so AckWait only bounds how long an event
// waits for a node that died holding it. Success is acknowledged with a
// confirmed ack, so a success is not redelivered for a lost ack. An error
// is answered with a Nak delayed by Spec.Backoff; the MaxDeliver-th error
// terminates the event (Stats.GivenUp, logged). The server's MaxDeliver is
// the same, so an event whose node keeps dying is bounded too (that
// give-up is the server's, and not counted here). Delivery is at least
// once: a handler must tolerate a repeat (Message.Seq identifies it).
//
// # Goroutines
//
// A Subscription owns one goroutine that reads and handles events in
// turn, and, while a durable handler runs, one that keeps the delivery
// alive. Close stops the first from taking events (ending its pending
// pull request), waits for the handler in flight (cancelling its context
// when Close's context ends), and returns after both goroutines did; a
// live subscription's consumer is deleted. Publish and Subscribe take a
// context first and do their I/O within it. An event the server sent
// just as Close ended its pull request is not lost: it is delivered again
// after AckWait.
//
// # Setup
//
// Ensure looks the stream up before creating it, and consumers are bound
// the same way: in a NATS cluster, identical creates racing from several
// hosts can go unanswered, so a create that times out or finds the object
// exists is followed by another lookup, a bounded number of times.
package events
