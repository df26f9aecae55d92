// Package plugins runs go-cluster apps compiled to WebAssembly: it compiles
// modules (with an on-disk cache), instantiates them into per-app pools,
// binds the host functions of the native ABI and enforces each app's
// limits on memory, time, concurrency and payload size. Modules built with
// an Extism PDK run through extism go-sdk in the same pools, under the same
// limits, with the capabilities offered as Extism host functions (see
// abi/EXTISM.md). It knows nothing of
// NATS: a guest reaches the outside only through the Capabilities the host
// implements per app.
//
// A node has one Runtime; Runtime.Inspect validates a module at deploy and
// Runtime.Load starts it as an App, whose Call runs one API call in an
// instance of its own and whose lifecycle methods (Activate, Deactivate,
// Own, Release, MemberJoined, MemberLeft) tell every instance what happens
// to the app. README.md in this directory explains how instances,
// limits, timeouts and the compilation cache work, and why.
package plugins
