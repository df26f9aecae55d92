package manifest

import (
	"errors"
	"strings"
	"testing"

	"github.com/ozanturksever/go-cluster/abi"
)

// base is a small valid manifest with defaults applied; cases change one
// thing and validate without re-applying defaults, so each change is
// exactly what is checked.
func base() *Manifest {
	m := &Manifest{Name: "cache", Version: "1.0.0", Wasm: "cache.wasm", API: []string{"get"}}
	m.SetDefaults()
	return m
}

type validCase struct {
	name   string
	change func(m *Manifest)
	field  string // "" when the manifest stays valid
	reason string // a part of the reason
}

// runValid validates each case, checking that a problem names its field
// and reason and is both ErrInvalid and abi.ErrInvalid.
func runValid(t *testing.T, cases []validCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := base()
			tc.change(m)
			err := m.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("want a problem with %s, got none", tc.field)
			}
			if !errors.Is(err, ErrInvalid) || !errors.Is(err, abi.ErrInvalid) {
				t.Errorf("%v is not ErrInvalid and abi.ErrInvalid", err)
			}
			var list Errors
			if !errors.As(err, &list) {
				t.Fatalf("%T is not Errors", err)
			}
			for _, fe := range list {
				if fe.Field == tc.field && strings.Contains(fe.Reason, tc.reason) {
					if !strings.HasPrefix(fe.Error(), tc.field+": ") {
						t.Errorf("message %q does not start with the field", fe.Error())
					}
					return
				}
			}
			t.Fatalf("want %s: ...%s..., got:\n%v", tc.field, tc.reason, err)
		})
	}
}

func TestValidateIdentity(t *testing.T) {
	runValid(t, []validCase{
		{"name ok", func(m *Manifest) { m.Name = "a-b-1" }, "", ""},
		{"name one letter", func(m *Manifest) { m.Name = "a" }, "", ""},
		{"name 32 bytes", func(m *Manifest) { m.Name = strings.Repeat("a", 32) }, "", ""},
		{"name empty", func(m *Manifest) { m.Name = "" }, "name", "required"},
		{"name upper", func(m *Manifest) { m.Name = "Cache" }, "name", `"Cache" is not a valid app name`},
		{"name digit first", func(m *Manifest) { m.Name = "1app" }, "name", "not a valid app name"},
		{"name trailing dash", func(m *Manifest) { m.Name = "app-" }, "name", "not ending in -"},
		{"name underscore", func(m *Manifest) { m.Name = "a_b" }, "name", "not a valid app name"},
		{"name dot", func(m *Manifest) { m.Name = "a.b" }, "name", "not a valid app name"},
		{"name 33 bytes", func(m *Manifest) { m.Name = strings.Repeat("a", 33) }, "name", "33 bytes; the limit is 32"},
		{"name platform", func(m *Manifest) { m.Name = "platform" }, "name", `"platform" is reserved`},
		{"name platform-x", func(m *Manifest) { m.Name = "platform-x" }, "", ""},

		{"version pre-release", func(m *Manifest) { m.Version = "2.1.0-rc.1" }, "", ""},
		{"version zero", func(m *Manifest) { m.Version = "0.0.1" }, "", ""},
		{"version empty", func(m *Manifest) { m.Version = "" }, "version", "required"},
		{"version two parts", func(m *Manifest) { m.Version = "1.0" }, "version", "not a semantic version"},
		{"version v prefix", func(m *Manifest) { m.Version = "v1.0.0" }, "version", "not a semantic version"},
		{"version leading zero", func(m *Manifest) { m.Version = "01.0.0" }, "version", "not a semantic version"},
		{"version build", func(m *Manifest) { m.Version = "1.0.0+abc" }, "version", "build metadata"},
		{"version long", func(m *Manifest) { m.Version = "1.0.0-" + strings.Repeat("a", 60) }, "version", "the limit is 64"},

		{"wasm subdir", func(m *Manifest) { m.Wasm = "build/cache.wasm" }, "", ""},
		{"wasm dot slash", func(m *Manifest) { m.Wasm = "./cache.wasm" }, "", ""},
		{"wasm inner dotdot", func(m *Manifest) { m.Wasm = "a/../cache.wasm" }, "", ""},
		{"wasm empty", func(m *Manifest) { m.Wasm = "" }, "wasm", "required"},
		{"wasm absolute", func(m *Manifest) { m.Wasm = "/srv/cache.wasm" }, "wasm", "is absolute"},
		{"wasm parent", func(m *Manifest) { m.Wasm = "../cache.wasm" }, "wasm", "leaves the manifest's directory"},
		{"wasm deep escape", func(m *Manifest) { m.Wasm = "a/../../x.wasm" }, "wasm", "leaves"},
		{"wasm dot", func(m *Manifest) { m.Wasm = "." }, "wasm", "leaves"},
		{"wasm backslash", func(m *Manifest) { m.Wasm = `build\cache.wasm` }, "wasm", "use /"},
		{"wasm NUL", func(m *Manifest) { m.Wasm = "a\x00.wasm" }, "wasm", "not a valid file name"},
	})
}

func TestValidateTopology(t *testing.T) {
	spread := func(m *Manifest) { m.Mode, m.Pattern = ModeSpread, PatternPool }
	replicas := func(n int) func(*Manifest) {
		return func(m *Manifest) { m.Mode, m.Pattern, m.Replicas = ModeReplicas, PatternPool, n }
	}
	ring := func(n int) func(*Manifest) {
		return func(m *Manifest) { m.Mode, m.Pattern, m.Partitions = ModeSpread, PatternRing, n }
	}
	runValid(t, []validCase{
		{"mode spread", spread, "", ""},
		{"mode replicas", replicas(3), "", ""},
		{"mode bad", func(m *Manifest) { m.Mode = "spreed" }, "mode", `"spreed" is not one of singleton, spread, replicas`},
		{"mode empty", func(m *Manifest) { m.Mode = "" }, "mode", "required"},

		{"replicas 1", replicas(1), "", ""},
		{"replicas max", replicas(MaxReplicas), "", ""},
		{"replicas missing", replicas(0), "replicas", "required with mode: replicas"},
		{"replicas negative", replicas(-1), "replicas", "under the minimum 1"},
		{"replicas too many", replicas(MaxReplicas + 1), "replicas", "over the maximum"},
		{"replicas with spread", func(m *Manifest) { spread(m); m.Replicas = 3 }, "replicas", "only with mode: replicas"},
		{"replicas over nodes", func(m *Manifest) {
			replicas(3)(m)
			m.Placement = &Placement{Nodes: []string{"n1", "n2"}}
		}, "replicas", "more than the 2 nodes"},

		{"pattern pool singleton", func(m *Manifest) { m.Pattern = PatternPool }, "", ""},
		{"pattern ring spread", ring(256), "", ""},
		{"pattern ring replicas", func(m *Manifest) { replicas(3)(m); m.Pattern, m.Partitions = PatternRing, 16 }, "", ""},
		{"pattern bad", func(m *Manifest) { m.Pattern = "rings" }, "pattern", `"rings" is not one of active-passive, pool, ring`},
		{"pattern empty", func(m *Manifest) { m.Pattern = "" }, "pattern", "required"},
		{"active-passive spread", func(m *Manifest) { m.Mode = ModeSpread }, "pattern", "needs mode: singleton"},
		{"ring singleton", func(m *Manifest) { m.Pattern, m.Partitions = PatternRing, 256 }, "pattern", "not singleton"},

		{"partitions 1", ring(1), "", ""},
		{"partitions max", ring(MaxPartitions), "", ""},
		{"partitions zero", ring(0), "partitions", "under the minimum 1"},
		{"partitions over", ring(MaxPartitions + 1), "partitions", "4097 is over the maximum 4096"},
		{"partitions with pool", func(m *Manifest) { spread(m); m.Partitions = 5 }, "partitions", "only with pattern: ring"},
	})
}

func TestValidateAPIAndCalls(t *testing.T) {
	runValid(t, []validCase{
		{"api several", func(m *Manifest) { m.API = []string{"get", "set_x", "del-1", "Stats"} }, "", ""},
		{"api 64 bytes", func(m *Manifest) { m.API = []string{strings.Repeat("m", abi.MaxMethodLen)} }, "", ""},
		{"api nil", func(m *Manifest) { m.API = nil }, "api", "required"},
		{"api empty", func(m *Manifest) { m.API = []string{} }, "api", "required"},
		{"api space", func(m *Manifest) { m.API = []string{"get", "set", "bad name"} }, "api[2]",
			`"bad name" is not a valid method name (letters, digits, _ and - only`},
		{"api digit first", func(m *Manifest) { m.API = []string{"1get"} }, "api[0]", "not a valid method name"},
		{"api empty name", func(m *Manifest) { m.API = []string{""} }, "api[0]", "not a valid method name"},
		{"api dot", func(m *Manifest) { m.API = []string{"a.b"} }, "api[0]", "not a valid method name"},
		{"api repeat", func(m *Manifest) { m.API = []string{"get", "set", "get"} }, "api[2]", `"get" is listed twice (also at api[0])`},
		{"api too long", func(m *Manifest) { m.API = []string{strings.Repeat("m", abi.MaxMethodLen+1)} }, "api[0]", "the limit is 64"},

		{"calls ok", func(m *Manifest) { m.Calls = []string{"convex", "cache"} }, "", ""},
		{"calls bad", func(m *Manifest) { m.Calls = []string{"Convex"} }, "calls[0]", "not a valid app name"},
		{"calls empty name", func(m *Manifest) { m.Calls = []string{""} }, "calls[0]", "not a valid app name"},
		{"calls repeat", func(m *Manifest) { m.Calls = []string{"a", "a"} }, "calls[1]", "listed twice"},
	})
}

func TestValidateData(t *testing.T) {
	events := func(pub, sub []string) func(*Manifest) {
		return func(m *Manifest) { m.Data.Events = &Events{Publish: pub, Subscribe: sub} }
	}
	runValid(t, []validCase{
		{"kv locks", func(m *Manifest) { m.Data.KV, m.Data.Locks = true, true }, "", ""},
		{"db sync", func(m *Manifest) { m.Data.DB = &DB{Durability: DurabilitySync} }, "", ""},
		{"db async", func(m *Manifest) { m.Data.DB = &DB{Durability: DurabilityAsync} }, "", ""},
		{"db bad", func(m *Manifest) { m.Data.DB = &DB{Durability: "fast"} }, "data.db.durability", `"fast" is not one of sync, async`},
		{"db unset", func(m *Manifest) { m.Data.DB = &DB{} }, "data.db.durability", "required"},
		{"db pool", func(m *Manifest) {
			m.Data.DB, m.Mode, m.Pattern = &DB{Durability: DurabilitySync}, ModeSpread, PatternPool
		}, "data.db", "needs pattern: active-passive"},

		{"publish ok", events([]string{"updated", "user-created", "x_1"}, nil), "", ""},
		{"publish dot", events([]string{"a.b"}, nil), "data.events.publish[0]", "not a valid event name"},
		{"publish empty", events([]string{""}, nil), "data.events.publish[0]", "not a valid event name"},
		{"publish wildcard", events([]string{"*"}, nil), "data.events.publish[0]", "not a valid event name"},
		{"publish repeat", events([]string{"a", "a"}, nil), "data.events.publish[1]", "listed twice"},
		{"publish long", events([]string{strings.Repeat("e", 65)}, nil), "data.events.publish[0]", "the limit is 64"},

		{"subscribe ok", events(nil, []string{"other.updated", "other.*", "cache.updated"}), "", ""},
		{"subscribe no event", events(nil, []string{"other"}), "data.events.subscribe[0]", "is not app.event"},
		{"subscribe bad app", events(nil, []string{"Other.x"}), "data.events.subscribe[0]", "not a valid app name"},
		{"subscribe nested", events(nil, []string{"other.a.b"}), "data.events.subscribe[0]", "not a valid event name"},
		{"subscribe gt", events(nil, []string{"other.>"}), "data.events.subscribe[0]", "not a valid event name"},
		{"subscribe trailing dot", events(nil, []string{"other."}), "data.events.subscribe[0]", "not a valid event name"},
		{"subscribe repeat", events(nil, []string{"o.x", "o.x"}), "data.events.subscribe[1]", "listed twice"},
		{"subscribe platform", events(nil, []string{"platform.node_join", "platform.node_leave", "platform.leader",
			"platform.deploy", "platform.undeploy"}), "", ""},
		{"subscribe platform all", events(nil, []string{"platform.*", "other.*"}), "", ""},
		{"subscribe platform unknown", events(nil, []string{"other.x", "platform.foo"}), "data.events.subscribe[1]",
			`"platform.foo" is not a platform event (node_join, node_leave, leader, deploy, undeploy, backend, vip)`},
		{"subscribe platform gt", events(nil, []string{"platform.>"}), "data.events.subscribe[0]", "is not a platform event"},
		{"subscribe platform nested", events(nil, []string{"platform.deploy.x"}), "data.events.subscribe[0]", "is not a platform event"},
		{"subscribe platform bare", events(nil, []string{"platform"}), "data.events.subscribe[0]", "is not app.event"},

		{"durable", func(m *Manifest) { m.Data.Events = &Events{Subscribe: []string{"o.x"}, Durable: true} }, "", ""},
		{"durable without subscribe", func(m *Manifest) { m.Data.Events = &Events{Publish: []string{"x"}, Durable: true} },
			"data.events.durable", "only with subscribe"},
	})
}

func TestValidateLimits(t *testing.T) {
	lim := func(f func(l *Limits)) func(*Manifest) { return func(m *Manifest) { f(&m.Limits) } }
	runValid(t, []validCase{
		{"memory min", lim(func(l *Limits) { l.Memory = MinMemory }), "", ""},
		{"memory max", lim(func(l *Limits) { l.Memory = MaxMemory }), "", ""},
		{"memory over", lim(func(l *Limits) { l.Memory = 8 * GiB }), "limits.memory", "8GiB is over the maximum 4GiB"},
		{"memory under", lim(func(l *Limits) { l.Memory = 512 * KiB }), "limits.memory", "512KiB is under the minimum 1MiB"},
		{"memory zero", lim(func(l *Limits) { l.Memory = 0 }), "limits.memory", "0B is under the minimum 1MiB"},
		{"timeout min", lim(func(l *Limits) { l.Timeout = MinTimeout }), "", ""},
		{"timeout max", lim(func(l *Limits) { l.Timeout = MaxTimeout }), "", ""},
		{"timeout under", lim(func(l *Limits) { l.Timeout = Duration(999_999) }), "limits.timeout", "under the minimum 1ms"},
		{"timeout over", lim(func(l *Limits) { l.Timeout = MaxTimeout + 1 }), "limits.timeout", "over the maximum 10m"},
		{"instances min", lim(func(l *Limits) { l.Instances = 1 }), "", ""},
		{"instances max", lim(func(l *Limits) { l.Instances = 256 }), "", ""},
		{"instances zero", lim(func(l *Limits) { l.Instances = 0 }), "limits.instances", "0 is under the minimum 1"},
		{"instances over", lim(func(l *Limits) { l.Instances = 257 }), "limits.instances", "257 is over the maximum 256"},
		{"payload min", lim(func(l *Limits) { l.Payload = KiB }), "", ""},
		{"payload max", lim(func(l *Limits) { l.Payload = 4 * MiB }), "", ""},
		{"payload under", lim(func(l *Limits) { l.Payload = 1023 }), "limits.payload", "1023B is under the minimum 1KiB"},
		{"payload over", lim(func(l *Limits) { l.Payload = 4*MiB + 1 }), "limits.payload", "over the maximum 4MiB"},
	})
}

func TestValidateVIP(t *testing.T) {
	vip := func(addr, iface string) func(*Manifest) {
		return func(m *Manifest) { m.VIP = &VIP{Address: addr, Interface: iface} }
	}
	runValid(t, []validCase{
		{"ok", vip("10.0.1.100/24", "eth0"), "", ""},
		{"ipv6", vip("fd00::10/64", "ens3"), "", ""},
		{"address missing", vip("", "eth0"), "vip.address", "required"},
		{"address no prefix", vip("10.0.1.100", "eth0"), "vip.address", "not an address with a prefix length"},
		{"address junk", vip("host/24", "eth0"), "vip.address", "not an address"},
		{"loopback", vip("127.0.0.1/8", "lo"), "vip.address", "not an address a node can hold"},
		{"multicast", vip("224.0.0.1/4", "eth0"), "vip.address", "not an address a node can hold"},
		{"unspecified", vip("0.0.0.0/0", "eth0"), "vip.address", "not an address a node can hold"},
		{"interface missing", vip("10.0.1.100/24", ""), "vip.interface", "required"},
		{"interface colon", vip("10.0.1.100/24", "eth0:1"), "vip.interface", "not a network interface name"},
		{"interface long", vip("10.0.1.100/24", strings.Repeat("e", 16)), "vip.interface", "at most 15 bytes"},
		{"interface dotdot", vip("10.0.1.100/24", ".."), "vip.interface", "not a network interface name"},
		{"with pool", func(m *Manifest) { vip("10.0.1.100/24", "eth0")(m); m.Pattern = PatternPool }, "vip", "needs pattern: active-passive"},
	})
}

func TestValidateConfig(t *testing.T) {
	cfg := func(k, v string) func(*Manifest) { return func(m *Manifest) { m.Config = map[string]string{k: v} } }
	runValid(t, []validCase{
		{"ok", cfg("greeting", "hello"), "", ""},
		{"dotted key", cfg("db.url", "x"), "", ""},
		{"empty value", cfg("x", ""), "", ""},
		{"key space", cfg("a b", "x"), `config["a b"]`, "not a valid config key"},
		{"key dot first", cfg(".a", "x"), `config[".a"]`, "not a valid config key"},
		{"key empty", cfg("", "x"), `config[""]`, "not a valid config key"},
		{"key long", cfg(strings.Repeat("k", 129), "x"), "config." + strings.Repeat("k", 129), "the limit is 128"},
		{"value not utf-8", cfg("k", "\xff"), "config.k", "not valid UTF-8"},
		{"too big", cfg("k", strings.Repeat("v", MaxConfigBytes)), "config", "the limit is 65536"},
	})
}

func TestValidateCollectsAll(t *testing.T) {
	m := base()
	m.Name, m.Version, m.Limits.Memory = "", "x", 8*GiB
	var list Errors
	if !errors.As(m.Validate(), &list) || len(list) != 3 {
		t.Fatalf("want 3 problems, got %v", list)
	}
	want := "3 problems:\n  name: required\n  version: \"x\" is not a semantic version (like 1.0.0 or 2.1.0-rc.1)\n  limits.memory: 8GiB is over the maximum 4GiB"
	if list.Error() != want {
		t.Errorf("got\n%s\nwant\n%s", list.Error(), want)
	}
	var fe *FieldError
	if !errors.As(error(list), &fe) || fe.Field != "name" {
		t.Errorf("errors.As found %v", fe)
	}
}
