// Command v9 speaks an ABI major version no host knows: it imports
// gocluster_v9 and exports gocluster_v9_*. The host must refuse it at
// deploy, naming the version.
package main

import "unsafe"

//go:wasmimport gocluster_v9 abi_version
func abiVersion() int32

var buf []byte

//go:wasmexport gocluster_v9_buffer
func buffer(size int32) uint32 {
	if int(size) > len(buf) || buf == nil {
		buf = make([]byte, max(int(size), 64))
	}
	return uint32(uintptr(unsafe.Pointer(&buf[0])))
}

//go:wasmexport gocluster_v9_handle
func handle(methodLen, payloadLen int32) int32 { return abiVersion() }

func main() {}
