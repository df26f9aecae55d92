// Command noexports is a valid WASI reactor with none of the gocluster
// exports: the host must refuse it with a clear error, not trap.
package main

func main() {}
