package host

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ozanturksever/go-cluster/manifest"
	"github.com/ozanturksever/go-cluster/registry"
)

// Platform events. Every host sees the same membership and deployment
// changes, so every host publishes them, each under the same message id:
// the event stream keeps one. A host that misses one (it was down) leaves
// it to the others.

// platformEventTimeout bounds one publication; an event that cannot be
// published in time is logged and dropped, never allowed to hold up the
// host.
const platformEventTimeout = 2 * time.Second

// NodeEvent is the JSON of node_join and node_leave.
type NodeEvent struct {
	Node string `json:"node"`
	At   string `json:"at"`
}

// LeaderEvent is the JSON of leader: an app's new active.
type LeaderEvent struct {
	App   string `json:"app"`
	Node  string `json:"node"`
	Token uint64 `json:"token"`
}

// DeployEvent is the JSON of deploy and undeploy.
type DeployEvent struct {
	App      string `json:"app"`
	Version  string `json:"version,omitempty"`
	Revision uint64 `json:"revision"`
	Digest   string `json:"digest,omitempty"`
}

// publishPlatform sends a platform event from a goroutine the host owns.
func (h *Host) publishPlatform(kind, msgID string, v any) {
	if h.bus == nil {
		return
	}
	data, err := json.Marshal(v)
	if err != nil {
		h.log.Error("cannot encode platform event", "kind", kind, "err", err)
		return
	}
	h.wg.Go(func() {
		ctx, cancel := context.WithTimeout(h.callCtx, platformEventTimeout)
		defer cancel()
		if err := h.bus.PublishPlatform(ctx, kind, data, msgID); err != nil {
			h.log.Warn("cannot publish platform event", "kind", kind, "err", err)
		}
	})
}

// announceMember publishes a node's join or leave. The id of the event is
// the node and its membership's start, the same on every host.
func (h *Host) announceMember(kind, node string) {
	started := h.members.startedAt(node)
	h.publishPlatform(kind, fmt.Sprintf("%s.%s.%d", kind, node, started.UnixNano()),
		NodeEvent{Node: node, At: time.Now().UTC().Format(time.RFC3339Nano)})
}

// announceDeploy publishes a deployment, or with dep nil the undeploy of
// the deployment at revision last.
func (h *Host) announceDeploy(app string, dep *registry.Deployment, last uint64) {
	if dep == nil {
		h.publishPlatform(manifest.EventUndeploy, fmt.Sprintf("undeploy.%s.%d", app, last), DeployEvent{App: app, Revision: last})
		return
	}
	h.publishPlatform(manifest.EventDeploy, fmt.Sprintf("deploy.%s.%d", app, dep.Revision),
		DeployEvent{App: app, Version: dep.Manifest.Version, Revision: dep.Revision, Digest: dep.Digest})
}

// announceLeader publishes that this node became app's active.
func (h *Host) announceLeader(app string, token uint64) {
	h.publishPlatform(manifest.EventLeader, fmt.Sprintf("leader.%s.%d", app, token),
		LeaderEvent{App: app, Node: h.cfg.NodeID, Token: token})
}
