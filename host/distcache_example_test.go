package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ozanturksever/go-cluster/abi"
	"github.com/ozanturksever/go-cluster/client"
	"github.com/ozanturksever/go-cluster/internal/testwasm"
	"github.com/ozanturksever/go-cluster/manifest"
	"github.com/ozanturksever/go-cluster/placement"
)

const distCacheDir = "examples/distributed-cache"

// TestDistributedCacheExample runs examples/distributed-cache on three
// nodes: 10k keys set through a client, then a node killed. Once the two
// survivors own every partition, each key is still served with its
// value; the survivors answer the keys they kept from memory and read
// those of the dead node's partitions back from the app's KV.
func TestDistributedCacheExample(t *testing.T) {
	wasm := testwasm.BuildRust(t, distCacheDir, "")
	m := distCacheManifest(t)
	p := newPlatform(t, 3, 3)
	dc := &distCache{t: t, p: p, c: connect(t, p.host("n1")), m: m}
	deploy(t, dc.c, m, wasm)
	p.converged(m.Name, m.Partitions)

	keys := make([]string, 10000)
	for i := range keys {
		keys[i] = fmt.Sprintf("key-%05d", i)
	}
	before := dc.load(keys)
	const victim = "n2"
	killed := time.Now()
	p.kill(victim)
	p.converged(m.Name, m.Partitions)
	t.Logf("%s killed; the survivors own every partition after %v", victim, time.Since(killed).Round(time.Millisecond))
	after := p.owners(m.Name)
	base := map[string]distCacheStats{"n1": dc.stats("n1", after), "n3": dc.stats("n3", after)}
	dc.readAll(keys, after)
	dc.checkRereads(keys, before, after, base, victim)
	dc.checkDeletes(keys[:10])
	checkRing(t, p, m.Name)
}

// distCache drives the example on a platform.
type distCache struct {
	t testing.TB
	p *platform
	c *client.Client
	m *manifest.Manifest
}

// distCacheStats is a node's answer to the example's stats method.
type distCacheStats struct {
	Partitions int    `json:"partitions"`
	Keys       int    `json:"keys"`
	Hits       uint64 `json:"hits"`
	Misses     uint64 `json:"misses"`
	KVReads    uint64 `json:"kv_reads"`
	KVWrites   uint64 `json:"kv_writes"`
}

// distCacheManifest is the example's own app.yaml.
func distCacheManifest(t testing.TB) *manifest.Manifest {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("..", distCacheDir, "app.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := manifest.Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	// The guest cannot read the manifest; it hashes keys over this.
	if got := m.Config["partitions"]; got != strconv.Itoa(m.Partitions) {
		t.Fatalf("app.yaml: config.partitions is %q, partitions %d", got, m.Partitions)
	}
	return m
}

func distCacheValue(key string) string { return "value of " + key }

func (dc *distCache) call(method, payload, key string) (string, error) {
	out, err := dc.c.Call(context.Background(), dc.m.Name, method, []byte(payload), client.CallOptions{Key: key, Timeout: 20 * time.Second})
	if err != nil {
		return "", fmt.Errorf("%s %s: %w", method, payload, err)
	}
	return string(out), nil
}

// load sets every key to its value and returns the owners it was set
// with. Sets write the KV and fill memory, never read the KV.
func (dc *distCache) load(keys []string) map[int][]string {
	dc.t.Helper()
	owners := dc.p.owners(dc.m.Name)
	start := time.Now()
	dc.each(keys, owners, func(k string) error {
		_, err := dc.call("set", k+"="+distCacheValue(k), k)
		return err
	})
	dc.t.Logf("set %d keys in %v", len(keys), time.Since(start).Round(time.Millisecond))
	total := 0
	for _, node := range []string{"n1", "n2", "n3"} {
		st := dc.stats(node, owners)
		if st.KVReads != 0 || st.Misses != 0 {
			dc.t.Errorf("%s read the KV before any get: %+v", node, st)
		}
		total += st.Keys
	}
	if total != len(keys) {
		dc.t.Fatalf("the nodes hold %d keys in memory, want %d", total, len(keys))
	}
	return owners
}

// readAll gets every key and checks its value.
func (dc *distCache) readAll(keys []string, owners map[int][]string) {
	dc.t.Helper()
	start := time.Now()
	dc.each(keys, owners, func(k string) error {
		v, err := dc.call("get", k, k)
		if err == nil && v != distCacheValue(k) {
			err = fmt.Errorf("get %s = %q, want %q", k, v, distCacheValue(k))
		}
		return err
	})
	dc.t.Logf("got %d keys back in %v", len(keys), time.Since(start).Round(time.Millisecond))
}

// checkDeletes deletes keys: each is gone at once.
func (dc *distCache) checkDeletes(keys []string) {
	dc.t.Helper()
	for _, k := range keys {
		if _, err := dc.call("delete", k, k); err != nil {
			dc.t.Fatal(err)
		}
		if _, err := dc.call("get", k, k); !errors.Is(err, abi.ErrNotFound) {
			dc.t.Fatalf("get %s after delete: %v, want not found", k, err)
		}
	}
}

// each runs f on every key, 8 calls at a time in key order: a call lands
// on any node and is forwarded to its key's owner, so nodes forward to
// each other all the time while the example keeps one instance per node.
func (dc *distCache) each(keys []string, owners map[int][]string, f func(key string) error) {
	dc.t.Helper()
	for _, k := range keys {
		if o := owners[placement.PartitionOf([]byte(k), dc.m.Partitions)]; len(o) != 1 {
			dc.t.Fatalf("key %s: owners %v", k, o)
		}
	}
	if err := inParallel(keys, 8, f); err != nil {
		dc.t.Fatal(err)
	}
}

// inParallel runs f on each key with at most n running at once, and returns
// the first error.
func inParallel(keys []string, n int, f func(string) error) error {
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	next := make(chan string)
	for range n {
		wg.Go(func() {
			for k := range next {
				if err := f(k); err != nil {
					once.Do(func() { first = err })
				}
			}
		})
	}
	for _, k := range keys {
		next <- k
	}
	close(next)
	wg.Wait()
	return first
}

// stats asks node for its stats: a keyed call reaches the owner of the
// key, so the key is one of a partition node owns.
func (dc *distCache) stats(node string, owners map[int][]string) distCacheStats {
	dc.t.Helper()
	key := ""
	for i := 0; key == ""; i++ {
		if i == 1<<16 {
			dc.t.Fatalf("%s owns no partition", node)
		}
		k := "stats-" + strconv.Itoa(i)
		if o := owners[placement.PartitionOf([]byte(k), dc.m.Partitions)]; len(o) == 1 && o[0] == node {
			key = k
		}
	}
	out, err := dc.call("stats", "", key)
	if err != nil {
		dc.t.Fatal(err)
	}
	var st distCacheStats
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		dc.t.Fatalf("stats of %s: %q: %v", node, out, err)
	}
	return st
}

// checkRereads checks what each survivor did for the gets since base: a
// key of a partition it kept came from memory, one of a partition it took
// from the victim from the KV.
func (dc *distCache) checkRereads(keys []string, before, after map[int][]string, base map[string]distCacheStats, victim string) {
	dc.t.Helper()
	kept, took, parts := map[string]uint64{}, map[string]uint64{}, map[string]int{}
	for _, o := range after {
		parts[o[0]]++
	}
	for _, k := range keys {
		part := placement.PartitionOf([]byte(k), dc.m.Partitions)
		switch was, is := before[part][0], after[part][0]; was {
		case is:
			kept[is]++
		case victim:
			took[is]++
		default:
			dc.t.Fatalf("partition %d moved from %s to %s, a survivor", part, was, is)
		}
	}
	for node, b := range base {
		st := dc.stats(node, after)
		dc.t.Logf("%s: kept %d keys, took %d over: %+v", node, kept[node], took[node], st)
		if took[node] == 0 {
			dc.t.Errorf("%s took no keys of %s over", node, victim)
		}
		if st.Hits-b.Hits != kept[node] || st.Misses-b.Misses != took[node] || st.KVReads-b.KVReads != took[node] {
			dc.t.Errorf("%s answered %d gets from memory and read the KV %d times (%d misses), want %d and %d",
				node, st.Hits-b.Hits, st.KVReads-b.KVReads, st.Misses-b.Misses, kept[node], took[node])
		}
		if st.Partitions != parts[node] || uint64(st.Keys) != kept[node]+took[node] {
			dc.t.Errorf("%s holds %d partitions and %d keys, want %d and %d", node, st.Partitions, st.Keys, parts[node], kept[node]+took[node])
		}
	}
}
