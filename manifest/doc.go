// Package manifest reads, checks and stores app manifests.
//
// A manifest is one YAML file beside the app's WebAssembly module. It names
// the app, says where and how many instances run, lists the API methods
// that are the app's only callable boundary, grants the app its own data
// (KV, database, locks, events) and the apps it may call, and bounds each
// instance. README.md in this directory has a full annotated example.
//
//	name: cache                 # identity; every data name derives from it
//	version: 1.0.0              # semantic version
//	wasm: cache.wasm            # relative to this file, inside its directory
//	mode: spread                # singleton | spread | replicas
//	pattern: ring               # active-passive | pool | ring
//	api: [get, set, delete, stats]
//	data: {kv: true}
//	limits: {memory: 64MiB, timeout: 5s}
//
// YAML is parsed only here (and in the command line). The host stores a
// manifest as JSON: Manifest.JSON writes that form and ParseJSON reads it
// back to an equal manifest.
//
// # Checking
//
// Parse and ParseJSON are strict: an unknown key, a value of the wrong
// type, a second document or trailing data is an error. They then fill in
// defaults (SetDefaults) and validate (Validate). Every problem is
// reported, not just the first, as Errors: a list of *FieldError, each
// naming the field's path, the reason and, for YAML, the line:
//
//	3 problems:
//	  line 1: name: "Cache" is not a valid app name (lowercase letters, ...)
//	  line 6: limits.memory: 8GiB is over the maximum 4GiB
//	  line 8: placement.lables: unknown key (did you mean labels?)
//
// errors.Is(err, ErrInvalid) and errors.Is(err, abi.ErrInvalid) hold for
// every such error, so a refused deploy carries the invalid status.
//
// # Names
//
// App names, node ids, method and event names become parts of NATS
// subjects, bucket names and keys; ValidAppName and its siblings are the
// one definition of each, for the host to share.
package manifest
