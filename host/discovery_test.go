package host

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/micro"
)

// TestMicroDiscovery checks each app is a NATS micro service named after
// it, with one endpoint per api method, answering $SRV.PING/INFO/STATS.
func TestMicroDiscovery(t *testing.T) {
	h := startHost(t, testConfig(t, "n1"))
	c := connect(t, h)
	m, wasm := loadBasic(t)
	deploy(t, c, m, wasm)
	mustCall(t, c, "basic", "greet", "x")

	nc := c.Conn()
	ping, err := nc.Request("$SRV.PING.basic", nil, 5*time.Second)
	if err != nil {
		t.Fatalf("$SRV.PING.basic: %v", err)
	}
	var p micro.Ping
	if err := json.Unmarshal(ping.Data, &p); err != nil || p.Name != "basic" || p.Version != "1.0.0" {
		t.Fatalf("ping = %s (%v)", ping.Data, err)
	}
	infoMsg, err := nc.Request("$SRV.INFO.basic", nil, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var info micro.Info
	if err := json.Unmarshal(infoMsg.Data, &info); err != nil {
		t.Fatal(err)
	}
	subjects := map[string]string{}
	for _, e := range info.Endpoints {
		subjects[e.Name] = e.Subject
	}
	if len(subjects) != 2 || subjects["greet"] != h.layout.APISubject("basic", "greet") || subjects["incr"] == "" {
		t.Fatalf("endpoints = %v", subjects)
	}
	statsMsg, err := nc.Request("$SRV.STATS.basic", nil, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var stats micro.Stats
	if err := json.Unmarshal(statsMsg.Data, &stats); err != nil || len(stats.Endpoints) != 2 {
		t.Fatalf("stats = %s (%v)", statsMsg.Data, err)
	}
	// Every app answers the unnamed ping, as `nats micro ls` asks it.
	sub, err := nc.SubscribeSync(nc.NewRespInbox())
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.PublishRequest("$SRV.PING", sub.Subject, nil); err != nil {
		t.Fatal(err)
	}
	msg, err := sub.NextMsg(5 * time.Second)
	if err != nil || !bytes.Contains(msg.Data, []byte(`"basic"`)) {
		t.Fatalf("$SRV.PING: %v %s", err, msg.Data)
	}
}

// lockedBuffer collects log output from many goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestGuestLogsReachHostLog checks a guest's log line arrives in the host
// log labelled with the app and the node.
func TestGuestLogsReachHostLog(t *testing.T) {
	var logs lockedBuffer
	cfg := testConfig(t, "logger-node")
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := startHost(t, cfg)
	c := connect(t, h)
	deploy(t, c, testManifest(t, "chatty", ""), testapp(t))
	mustCall(t, c, "chatty", "log", "hello from the guest")
	waitFor(t, 5*time.Second, "the guest's log line", func() bool {
		for _, line := range strings.Split(logs.String(), "\n") {
			if strings.Contains(line, "hello from the guest") && strings.Contains(line, "app=chatty") && strings.Contains(line, "node=logger-node") {
				return true
			}
		}
		return false
	})
}
