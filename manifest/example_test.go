package manifest_test

import (
	"errors"
	"fmt"

	"github.com/ozanturksever/go-cluster/abi"
	"github.com/ozanturksever/go-cluster/manifest"
)

func ExampleParse() {
	m, err := manifest.Parse([]byte(`
name: cache
version: 1.0.0
wasm: cache.wasm
mode: spread
pattern: ring
api: [get, set, delete, stats]
data: {kv: true}
limits: {memory: 32MiB}
`))
	if err != nil {
		panic(err)
	}
	fmt.Println(m.Name, m.Mode, m.Pattern, m.Partitions)
	fmt.Println(m.Limits.Memory, m.Limits.Timeout, m.Limits.Instances, m.Limits.Payload)

	_, err = manifest.Parse([]byte(`
name: cache
version: 1.0.0
wasm: ../cache.wasm
api: [get, "bad name"]
limits: {memory: 8GiB}
`))
	fmt.Println(err)
	fmt.Println(errors.Is(err, abi.ErrInvalid))
	// Output:
	// cache spread ring 256
	// 32MiB 5s 4 1MiB
	// 3 problems:
	//   line 4: wasm: "../cache.wasm" leaves the manifest's directory; put the module beside the manifest or below it
	//   line 5: api[1]: "bad name" is not a valid method name (letters, digits, _ and - only, starting with a letter)
	//   line 6: limits.memory: 8GiB is over the maximum 4GiB
	// true
}
