package sdk

import (
	"bufio"
	"encoding/hex"
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The List (kv_keys) and the exec results of db_batch are shared by every
// host and SDK; their golden vectors live with the host's contract.
const listsVectors = "../abi/testdata/lists.txt"

func TestListsGolden(t *testing.T) {
	f, err := os.Open(listsVectors)
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("SKIP: %s not found: the SDK is outside the go-cluster repository", listsVectors)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	seen := map[string]int{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 4 {
			t.Fatalf("line %d: %q", n, line)
		}
		var b []byte
		if fields[2] != "-" {
			if b, err = hex.DecodeString(fields[2]); err != nil {
				t.Fatalf("line %d: %v", n, err)
			}
		}
		ok := fields[1] == "ok"
		seen[fields[0]]++
		switch fields[0] {
		case "list":
			checkListGolden(t, n, b, ok, fields[4:])
		case "execs":
			count, err := strconv.Atoi(fields[3])
			if err != nil {
				t.Fatalf("line %d: %v", n, err)
			}
			checkExecsGolden(t, n, b, ok, count, fields[4:])
		default:
			t.Fatalf("line %d: unknown encoding %q", n, fields[0])
		}
	}
	if seen["list"] == 0 || seen["execs"] == 0 {
		t.Fatalf("vectors read: %v", seen)
	}
}

func checkListGolden(t *testing.T, line int, b []byte, ok bool, items []string) {
	t.Helper()
	got, decoded := decodeList(string(b))
	if !ok {
		if decoded {
			t.Errorf("line %d: decodeList(%x) = %q, want a refusal", line, b, got)
		}
		return
	}
	want := make([]string, len(items))
	for i, s := range items {
		want[i] = vecStr(t, s)
	}
	if !decoded || !slices.Equal(got, want) {
		t.Errorf("line %d: decodeList(%x) = %q, %v; want %q", line, b, got, decoded, want)
	}
}

func checkExecsGolden(t *testing.T, line int, b []byte, ok bool, count int, nums []string) {
	t.Helper()
	got, err := decodeExecResults(b, count)
	if !ok {
		if err == nil {
			t.Errorf("line %d: decodeExecResults(%x, %d) = %v, want an error", line, b, count, got)
		}
		return
	}
	var want []Result
	for i := 0; i+1 < len(nums); i += 2 {
		ra, err1 := strconv.ParseInt(nums[i], 10, 64)
		id, err2 := strconv.ParseInt(nums[i+1], 10, 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("line %d: bad numbers", line)
		}
		want = append(want, Result{RowsAffected: ra, LastInsertID: id})
	}
	if err != nil || len(got) != count || !slices.Equal(got, want) {
		t.Errorf("line %d: decodeExecResults(%x, %d) = %v, %v; want %v", line, b, count, got, err, want)
	}
}
