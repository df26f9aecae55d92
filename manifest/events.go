package manifest

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ozanturksever/go-cluster/layout"
)

// Platform events are published by the hosts themselves, under the source
// name layout.PlatformApp ("platform"), which no app may take. An app
// subscribes to them as "platform.KIND" or "platform.*".
const (
	// EventNodeJoin: a node joined the cluster.
	EventNodeJoin = "node_join"
	// EventNodeLeave: a node left the cluster (its membership ended).
	EventNodeLeave = "node_leave"
	// EventLeader: a singleton role (an app's active, the scheduler)
	// changed hands.
	EventLeader = "leader"
	// EventDeploy: an app was deployed or a new version of it.
	EventDeploy = "deploy"
	// EventUndeploy: an app was undeployed.
	EventUndeploy = "undeploy"
	// EventBackend: an app's backend started, turned unhealthy, was
	// restarted, failed or stopped on a node (the audit of backends).
	EventBackend = "backend"
	// EventVIP: a node took, gave up, re-added or lost (fenced) an app's
	// virtual address, or saw another machine answer for it.
	EventVIP = "vip"
)

// platformEvents is every platform event kind, in the order messages
// list them.
var platformEvents = []string{EventNodeJoin, EventNodeLeave, EventLeader, EventDeploy, EventUndeploy, EventBackend, EventVIP}

// PlatformEvents returns every platform event kind.
func PlatformEvents() []string { return slices.Clone(platformEvents) }

// IsPlatformEvent reports whether kind is a platform event kind.
func IsPlatformEvent(kind string) bool { return slices.Contains(platformEvents, kind) }

// AllEvents is the event part of a subscription to all of an app's events
// ("other.*").
const AllEvents = "*"

// ParseSubscription splits a data.events.subscribe entry into the source
// app and the event, which is AllEvents for "app.*". The source is an app
// name or layout.PlatformApp; with the latter, the event is a platform
// event kind or AllEvents. The error, when s is not such an entry, says
// why in the words validation uses, and wraps ErrInvalid.
func ParseSubscription(s string) (app, event string, err error) {
	if p := subscriptionProblem(s); p != "" {
		return "", "", &FieldError{Reason: p}
	}
	app, event, _ = strings.Cut(s, ".")
	return app, event, nil
}

// subscriptionProblem checks an app.event subscription; "" when valid.
func subscriptionProblem(s string) string {
	app, event, ok := strings.Cut(s, ".")
	if !ok {
		return fmt.Sprintf("%q is not app.event (like other.updated, or other.* for all its events)", s)
	}
	if app == layout.PlatformApp {
		if event == AllEvents || IsPlatformEvent(event) {
			return ""
		}
		return fmt.Sprintf("%q is not a platform event (%s)", s, strings.Join(platformEvents, ", "))
	}
	if p := appNameRule.problem(app); p != "" {
		return p
	}
	if event == AllEvents {
		return ""
	}
	return eventRule.problem(event)
}
