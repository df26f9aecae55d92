package sdk

import (
	"fmt"
	"unsafe"
)

// scratch receives the results of host functions. A result that fits costs
// one crossing and no allocation beyond the copy the caller keeps; a larger
// one is fetched with take into memory sized for it. A guest runs one call
// at a time and nothing yields between a host call and the copy out of
// scratch, so one package-level buffer serves every caller.
var scratch [scratchSize]byte

const scratchSize = 8 << 10

func bytesPtr(b []byte) unsafe.Pointer  { return unsafe.Pointer(unsafe.SliceData(b)) }
func stringPtr(s string) unsafe.Pointer { return unsafe.Pointer(unsafe.StringData(s)) }
func scratchPtr() unsafe.Pointer        { return unsafe.Pointer(&scratch[0]) }

// result returns the n bytes a host function just reported: copied out of
// scratch when they fit there, else taken into a new buffer of n bytes.
// The returned slice is the caller's.
func result(n int32) ([]byte, error) {
	out := make([]byte, n)
	if int(n) <= len(scratch) {
		copy(out, scratch[:n])
		return out, nil
	}
	if ret := hostTake(bytesPtr(out), uint32(n)); ret < 0 {
		return nil, statusErr(ret)
	}
	return out, nil
}

// lastError returns the host's message for the host function that just
// failed, and false when it has none (or no host is there to ask).
func lastError() (string, bool) {
	n := hostLastError(scratchPtr(), scratchSize)
	if n <= 0 {
		return "", false
	}
	b, err := result(n)
	if err != nil {
		return "", false
	}
	return unsafe.String(unsafe.SliceData(b), len(b)), true
}

// ABIVersion returns the ABI major version the host speaks, or 0 outside a
// host (a native build). This SDK speaks version 1.
func ABIVersion() int {
	v := hostABIVersion()
	if v < 0 {
		return 0
	}
	return int(v)
}

// Config returns the value of key in the manifest's config map. It reports
// false when the key is absent or there is no host.
func Config(key string) (string, bool) {
	n := hostConfig(stringPtr(key), uint32(len(key)), scratchPtr(), scratchSize)
	if n < 0 {
		return "", false
	}
	if int(n) <= len(scratch) {
		return string(scratch[:n]), true
	}
	b, err := result(n)
	if err != nil {
		return "", false
	}
	return unsafe.String(unsafe.SliceData(b), len(b)), true
}

// Log writes msg to the host's log at level, labelled with the app and the
// node. Prefer it to stdout and stderr, which the host may discard.
func Log(level Level, msg string) {
	hostLog(int32(level), stringPtr(msg), uint32(len(msg)))
}

// LogDebug logs msg at LevelDebug.
func LogDebug(msg string) { Log(LevelDebug, msg) }

// LogInfo logs msg at LevelInfo.
func LogInfo(msg string) { Log(LevelInfo, msg) }

// LogWarn logs msg at LevelWarn.
func LogWarn(msg string) { Log(LevelWarn, msg) }

// LogError logs msg at LevelError.
func LogError(msg string) { Log(LevelError, msg) }

// logBuf is reused by Logf so formatting does not allocate a string.
var logBuf []byte

// Logf formats like fmt.Sprintf and logs the result at level.
func Logf(level Level, format string, args ...any) {
	logBuf = fmt.Appendf(logBuf[:0], format, args...)
	hostLog(int32(level), bytesPtr(logBuf), uint32(len(logBuf)))
	if cap(logBuf) > 64<<10 {
		logBuf = nil // do not hold on to one huge line
	}
}
