package sdk

import (
	"encoding/binary"
	"fmt"
	"math"
	"unsafe"
)

// The database encodings the host and every SDK share; the host's package
// abi specifies them and abi/testdata/values.txt holds their golden
// vectors. Every integer is little endian.
//
// A value is a type byte then its data: NULL nothing, INTEGER an i64, REAL
// the f64's bits, TEXT and BLOB a u32 length then the bytes. Values (a
// statement's parameters, one row) are a u32 count then that many values.
// A statement is a u32 SQL length, the SQL, then its values; a batch a u32
// count then that many statements. An exec result is two i64: rows
// affected, then the last inserted row id. Rows are a u32 column count,
// each name as a u32 length then bytes, a u32 row count, then each row as
// column-count values.

// appendArg appends the value encoding of v, one of the Go types the
// database takes (see Exec), and reports false for any other type and for
// an unsigned integer over the INTEGER range.
func appendArg(dst []byte, v any) ([]byte, bool) {
	switch v := v.(type) {
	case nil:
		return append(dst, typeNull), true
	case int64:
		return appendInt(dst, v), true
	case int:
		return appendInt(dst, int64(v)), true
	case int8:
		return appendInt(dst, int64(v)), true
	case int16:
		return appendInt(dst, int64(v)), true
	case int32:
		return appendInt(dst, int64(v)), true
	case uint8:
		return appendInt(dst, int64(v)), true
	case uint16:
		return appendInt(dst, int64(v)), true
	case uint32:
		return appendInt(dst, int64(v)), true
	case uint:
		return appendInt(dst, int64(v)), v <= math.MaxInt64
	case uint64:
		return appendInt(dst, int64(v)), v <= math.MaxInt64
	case bool:
		if v {
			return appendInt(dst, 1), true
		}
		return appendInt(dst, 0), true
	case float64:
		return appendReal(dst, v), true
	case float32:
		return appendReal(dst, float64(v)), true
	case string:
		return appendBytes(append(dst, typeText), v), true
	case []byte:
		return appendBytes(append(dst, typeBlob), unsafe.String(unsafe.SliceData(v), len(v))), true
	}
	return dst, false
}

func appendInt(dst []byte, v int64) []byte {
	return binary.LittleEndian.AppendUint64(append(dst, typeInteger), uint64(v))
}

func appendReal(dst []byte, v float64) []byte {
	return binary.LittleEndian.AppendUint64(append(dst, typeReal), math.Float64bits(v))
}

func appendBytes(dst []byte, s string) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(s)))
	return append(dst, s...)
}

// badArg is the error for an argument the database does not take.
func badArg(i int, v any) error {
	switch v.(type) {
	case uint, uint64:
		return &Error{Status: StatusInvalid, Message: fmt.Sprintf("argument %d: %d is over the INTEGER range", i+1, v)}
	}
	return &Error{Status: StatusInvalid, Message: fmt.Sprintf("argument %d: the database takes no %T", i+1, v)}
}

// appendArgs appends the values encoding of args.
func appendArgs(dst []byte, args []any) ([]byte, error) {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(args)))
	for i, a := range args {
		var ok bool
		if dst, ok = appendArg(dst, a); !ok {
			return nil, badArg(i, a)
		}
	}
	return dst, nil
}

// appendStatement appends the statement encoding of sql and args.
func appendStatement(dst []byte, sql string, args []any) ([]byte, error) {
	if err := checkSQL(sql); err != nil {
		return nil, err
	}
	return appendArgs(appendBytes(dst, sql), args)
}

// appendBatch appends the batch encoding of stmts.
func appendBatch(dst []byte, stmts []Stmt) ([]byte, error) {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(stmts)))
	for i, s := range stmts {
		var err error
		if dst, err = appendStatement(dst, s.SQL, s.Args); err != nil {
			return nil, &Error{Status: StatusInvalid, Message: fmt.Sprintf("statement %d: %v", i+1, err)}
		}
	}
	return dst, nil
}

// decodeExecResult reads one exec result; b holds execResultSize bytes.
func decodeExecResult(b []byte) Result {
	return Result{
		RowsAffected: int64(binary.LittleEndian.Uint64(b)),
		LastInsertID: int64(binary.LittleEndian.Uint64(b[8:])),
	}
}

// decodeExecResults reads n exec results, back to back, spanning all of b.
func decodeExecResults(b []byte, n int) ([]Result, error) {
	if len(b) != n*execResultSize {
		return nil, &Error{Status: StatusInternal, Message: fmt.Sprintf("host sent %d bytes of results for %d statements", len(b), n)}
	}
	out := make([]Result, n)
	for i := range out {
		out[i] = decodeExecResult(b[i*execResultSize:])
	}
	return out, nil
}

// errBadRows answers a query result that is not the rows encoding.
var errBadRows = &Error{Status: StatusInternal, Message: "host sent malformed rows"}

// decodeRows decodes the rows encoding spanning all of b. Texts, blobs and
// column names share b's memory, so b must not change afterwards; blobs
// are capped so appending to one cannot overwrite what follows.
func decodeRows(b []byte) (*Rows, error) {
	r := reader{b: b}
	nc := r.count(4)
	cols := make([]string, nc)
	for i := range cols {
		cols[i] = r.text()
	}
	nr := r.count(nc)
	if nc == 0 && nr > 0 {
		return nil, errBadRows // rows without columns cannot be told apart
	}
	var rows []Row
	if nr > 0 && !r.bad {
		vals := make([]any, nr*nc)
		rows = make([]Row, nr)
		for i := range rows {
			row := vals[i*nc : (i+1)*nc : (i+1)*nc]
			for j := range row {
				row[j] = r.value()
			}
			rows[i] = row
		}
	}
	if r.bad || len(r.b) != 0 {
		return nil, errBadRows
	}
	return &Rows{Columns: cols, Rows: rows}, nil
}

// decodeMessage splits the payload of an event (the List source, topic,
// data) and reports false for anything else. Data aliases b.
func decodeMessage(b []byte) (Event, bool) {
	var items [3][]byte
	for i := range items {
		if len(b) < 4 {
			return Event{}, false
		}
		n := binary.LittleEndian.Uint32(b)
		if uint64(n) > uint64(len(b)-4) {
			return Event{}, false
		}
		items[i] = b[4 : 4+n : 4+n]
		b = b[4+n:]
	}
	if len(b) != 0 {
		return Event{}, false
	}
	return Event{Source: string(items[0]), Topic: string(items[1]), Data: items[2]}, true
}

// reader reads the encodings; once bad, every read returns zero values.
type reader struct {
	b   []byte
	bad bool
}

func (r *reader) take(n uint64) []byte {
	if r.bad || n > uint64(len(r.b)) {
		r.bad = true
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) u32() uint32 {
	if b := r.take(4); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

func (r *reader) u64() uint64 {
	if b := r.take(8); b != nil {
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}

// count reads a count of items that each take at least min bytes, refusing
// one the rest cannot hold so a malformed count cannot make it allocate.
func (r *reader) count(min int) int {
	n := r.u32()
	if uint64(n)*uint64(min) > uint64(len(r.b)) {
		r.bad = true
	}
	if r.bad {
		return 0
	}
	return int(n)
}

// blob reads a u32 length and that many bytes.
func (r *reader) blob() []byte {
	return r.take(uint64(r.u32()))
}

func (r *reader) text() string {
	b := r.blob()
	return unsafe.String(unsafe.SliceData(b), len(b))
}

func (r *reader) value() any {
	t := r.take(1)
	if t == nil {
		return nil
	}
	switch t[0] {
	case typeNull:
		return nil
	case typeInteger:
		return int64(r.u64())
	case typeReal:
		return math.Float64frombits(r.u64())
	case typeText:
		return r.text()
	case typeBlob:
		return r.blob()
	}
	r.bad = true
	return nil
}
