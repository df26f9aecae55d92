package events

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/ozanturksever/go-cluster/abi"
	"github.com/ozanturksever/go-cluster/layout"
	"github.com/ozanturksever/go-cluster/manifest"
)

// ErrInvalid is wrapped by every refusal of a name: an app, topic,
// platform event kind or subscription source that cannot be. It wraps
// abi.ErrInvalid, so a guest's bad request carries the invalid status.
var ErrInvalid = fmt.Errorf("invalid event: %w", abi.ErrInvalid)

// checkApp refuses what cannot name a publishing or subscribing app,
// including layout.PlatformApp: only the hosts publish as the platform.
func checkApp(app string) error {
	if !manifest.ValidAppName(app) {
		return fmt.Errorf("%w: %q is not an app name", ErrInvalid, app)
	}
	return nil
}

// checkTopic refuses what cannot name an event: one subject token (see
// manifest.ValidEventName), so no dots and no wildcards.
func checkTopic(topic string) error {
	if !manifest.ValidEventName(topic) {
		return fmt.Errorf("%w: %q is not an event name (letters, digits, _ and -, at most %d bytes)",
			ErrInvalid, topic, manifest.MaxEventNameLen)
	}
	return nil
}

func checkPlatformEvent(kind string) error {
	if !manifest.IsPlatformEvent(kind) {
		return fmt.Errorf("%w: %q is not a platform event (%s)", ErrInvalid, kind, strings.Join(manifest.PlatformEvents(), ", "))
	}
	return nil
}

// sources is a subscription's set of sources, reduced and in order.
type sources struct {
	// names are the entries, "app.event" or "app.*", sorted, with none
	// that another covers (other.x goes when other.* is there): the
	// server refuses overlapping filters on one consumer.
	names []string
	// subjects are the names' subjects, in the same order.
	subjects []string
}

// parseSources checks manifest subscribe entries and maps them to
// subjects, through layout only.
func parseSources(l layout.Layout, entries []string) (sources, error) {
	if len(entries) == 0 {
		return sources{}, fmt.Errorf("%w: no sources to subscribe to", ErrInvalid)
	}
	events := make(map[string][]string) // app -> events
	for i, e := range entries {
		app, event, err := manifest.ParseSubscription(e)
		if err != nil {
			return sources{}, fmt.Errorf("%w: sources[%d]: %v", ErrInvalid, i, err)
		}
		events[app] = append(events[app], event)
	}
	var set sources
	for _, app := range sortedKeys(events) {
		list := events[app]
		if slices.Contains(list, manifest.AllEvents) {
			list = []string{manifest.AllEvents}
		}
		slices.Sort(list)
		for _, event := range slices.Compact(list) {
			set.names = append(set.names, app+"."+event)
			set.subjects = append(set.subjects, l.EventSubject(app, event))
		}
	}
	return set, nil
}

func sortedKeys(m map[string][]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// consumerName names the durable consumer app shares for set: the same
// for every instance of the app with the same subscriptions, in any order
// and with any repeats, and different when they differ.
func consumerName(app string, set sources) string {
	sum := sha256.Sum256([]byte(strings.Join(set.names, "\n")))
	return "ev_" + app + "_" + hex.EncodeToString(sum[:8])
}

// subjectPrefix is what every event subject of l starts with.
func subjectPrefix(l layout.Layout) string { return strings.TrimSuffix(l.EventsSubjects(), ">") }

// splitSubject returns the app and topic of an event subject under prefix.
func splitSubject(prefix, subject string) (app, topic string, ok bool) {
	rest, ok := strings.CutPrefix(subject, prefix)
	if !ok {
		return "", "", false
	}
	app, topic, ok = strings.Cut(rest, ".")
	return app, topic, ok && app != "" && topic != "" && !strings.Contains(topic, ".")
}
