package host

import "testing"

// BenchmarkVIPFailover measures, per trial, the time from the active
// machine's death (its link down, its host killed) to a client's first
// successful TCP connect to the VIP on the new active, in network
// namespaces, with the default lease and VIP settings. Run it with
// -benchtime 20x (a cluster benchmark; root only).
func BenchmarkVIPFailover(b *testing.B) {
	skipUnlessClusterBench(b)
	vp := newVIPPlatform(b, 3)
	c := connect(b, vp.host("n1"))
	deploy(b, c, testManifest(b, "ha", vipManifestYAML(vp.vip)), testapp(b))
	var took durations
	for b.Loop() {
		victim, next, d := vp.failover(b, "ha")
		b.StopTimer()
		took = append(took, d)
		vp.revive(b, victim)
		vp.waitServedBy(b, next)
		b.StartTimer()
	}
	checkFencing(b, vp.activations("ha"))
	took.report(b, "connect-")
	b.Logf("kill -> first connect on the vip (ms): %v", took)
}
