package manifest

import (
	"maps"
	"reflect"
	"slices"
)

// SetDefaults fills every unset field that has a default, so the stored
// form says everything and readers never re-derive a default. It also
// turns empty lists and maps into nil, so a manifest and its JSON round
// trip compare equal with reflect.DeepEqual. It is idempotent.
func (m *Manifest) SetDefaults() {
	if m.Mode == "" {
		m.Mode = ModeSingleton
	}
	if m.Pattern == "" {
		m.Pattern = PatternPool
		if m.Mode == ModeSingleton {
			m.Pattern = PatternActivePassive
		}
	}
	if m.Pattern == PatternRing && m.Partitions == 0 {
		m.Partitions = DefaultPartitions
	}
	if m.Data.DB != nil && m.Data.DB.Durability == "" {
		m.Data.DB.Durability = DurabilityAsync
	}
	m.Limits.setDefaults()
	if m.Backend != nil {
		m.Backend.setDefaults()
	}
	compact(reflect.ValueOf(m).Elem())
}

func (l *Limits) setDefaults() {
	setIfZero(&l.Memory, DefaultMemory)
	setIfZero(&l.Timeout, DefaultTimeout)
	setIfZero(&l.Instances, DefaultInstances)
	setIfZero(&l.Payload, DefaultPayload)
}

func (b *Backend) setDefaults() {
	setIfZero(&b.StartTimeout, DefaultBackendStartTimeout)
	setIfZero(&b.StopTimeout, DefaultBackendStopTimeout)
	setIfZero(&b.RestartWindow, DefaultBackendRestartWindow)
	switch b.Restarts {
	case 0:
		b.Restarts = DefaultBackendRestarts
	case -1:
		b.Restarts = 0
	}
	if b.Health != nil {
		b.Health.setDefaults()
	}
}

func (h *Health) setDefaults() {
	setIfZero(&h.Interval, DefaultHealthInterval)
	setIfZero(&h.Timeout, DefaultHealthTimeout)
	setIfZero(&h.Failures, DefaultHealthFailures)
}

func setIfZero[T comparable](p *T, def T) {
	var zero T
	if *p == zero {
		*p = def
	}
}

// compact sets empty slices and maps to nil throughout v. YAML's [] and {}
// decode as empty but non-nil, while JSON's omitempty drops them and reads
// them back as nil; one canonical form keeps the two comparable. It walks
// by reflection so a new field cannot be forgotten.
func compact(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			compact(v.Elem())
		}
	case reflect.Struct:
		for i := range v.NumField() {
			compact(v.Field(i))
		}
	case reflect.Slice:
		if v.Len() == 0 {
			v.SetZero()
		}
		for i := range v.Len() {
			compact(v.Index(i))
		}
	case reflect.Map:
		if v.Len() == 0 {
			v.SetZero()
		}
	}
}

// sortedKeys returns m's keys in order, so problems are reported in a
// stable order.
func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
