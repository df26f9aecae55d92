package abi

import (
	"encoding/binary"
	"errors"
	"math"
	"strconv"
)

// The database encodings. Every integer is little endian.
//
// A Value is a one-byte type then its data:
//
//	0 NULL      nothing
//	1 INTEGER   i64
//	2 REAL      f64 (IEEE 754 bits)
//	3 TEXT      u32 length, then UTF-8 bytes
//	4 BLOB      u32 length, then bytes
//
// Values (a statement's parameters, one row) are a u32 count then that many
// Values. A Statement is a u32 SQL length, the SQL, then its Values. A Batch
// is a u32 count then that many Statements. An ExecResult is two i64: rows
// affected, then the last inserted row id. Rows (a query's result) are a u32
// column count, each column name as u32 length then bytes, a u32 row count,
// then each row as column-count Values (no count before each row).
//
// Golden vectors for each encoding are in testdata/values.txt; the SDKs test
// against them.

// ErrBadValues is returned by the Decode functions for malformed bytes.
var ErrBadValues = errors.New("malformed database encoding")

// ValueType is the type of a Value, as SQLite names its storage classes.
type ValueType uint8

// Value types.
const (
	TypeNull    ValueType = 0
	TypeInteger ValueType = 1
	TypeReal    ValueType = 2
	TypeText    ValueType = 3
	TypeBlob    ValueType = 4
)

// String returns the SQLite name of t, e.g. "INTEGER".
func (t ValueType) String() string {
	switch t {
	case TypeNull:
		return "NULL"
	case TypeInteger:
		return "INTEGER"
	case TypeReal:
		return "REAL"
	case TypeText:
		return "TEXT"
	case TypeBlob:
		return "BLOB"
	}
	return "type(" + strconv.Itoa(int(t)) + ")"
}

// Value is one SQL value. Text and Blob keep their bytes in Bytes.
type Value struct {
	Type  ValueType
	Int   int64
	Real  float64
	Bytes []byte
}

// Value constructors.
func Null() Value               { return Value{Type: TypeNull} }
func Integer(v int64) Value     { return Value{Type: TypeInteger, Int: v} }
func Real(v float64) Value      { return Value{Type: TypeReal, Real: v} }
func Text(v string) Value       { return Value{Type: TypeText, Bytes: []byte(v)} }
func Blob(v []byte) Value       { return Value{Type: TypeBlob, Bytes: v} }
func (v Value) IsNull() bool    { return v.Type == TypeNull }
func (v Value) String() string  { return string(v.Bytes) }
func (v Value) encodedLen() int { return 1 + v.dataLen() }

func (v Value) dataLen() int {
	switch v.Type {
	case TypeInteger, TypeReal:
		return 8
	case TypeText, TypeBlob:
		return 4 + len(v.Bytes)
	}
	return 0
}

// Statement is one SQL statement with its parameters.
type Statement struct {
	SQL    string
	Params []Value
}

// ExecResult is what a statement that returns no rows reports.
type ExecResult struct {
	RowsAffected int64
	LastInsertID int64
}

// ExecResultSize is the encoded size of an ExecResult.
const ExecResultSize = 16

// Rows is a query's result.
type Rows struct {
	Columns []string
	Rows    [][]Value
}

// AppendValue appends the encoding of v.
func AppendValue(dst []byte, v Value) []byte {
	dst = append(dst, byte(v.Type))
	switch v.Type {
	case TypeInteger:
		dst = binary.LittleEndian.AppendUint64(dst, uint64(v.Int))
	case TypeReal:
		dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(v.Real))
	case TypeText, TypeBlob:
		dst = appendBytes(dst, v.Bytes)
	}
	return dst
}

// AppendValues appends the Values encoding of vals.
func AppendValues(dst []byte, vals ...Value) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(vals)))
	for _, v := range vals {
		dst = AppendValue(dst, v)
	}
	return dst
}

// AppendStatement appends the Statement encoding of s.
func AppendStatement(dst []byte, s Statement) []byte {
	dst = appendBytes(dst, []byte(s.SQL))
	return AppendValues(dst, s.Params...)
}

// AppendBatch appends the Batch encoding of stmts.
func AppendBatch(dst []byte, stmts ...Statement) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(stmts)))
	for _, s := range stmts {
		dst = AppendStatement(dst, s)
	}
	return dst
}

// AppendExecResult appends the 16-byte encoding of r.
func AppendExecResult(dst []byte, r ExecResult) []byte {
	dst = binary.LittleEndian.AppendUint64(dst, uint64(r.RowsAffected))
	return binary.LittleEndian.AppendUint64(dst, uint64(r.LastInsertID))
}

// AppendRows appends the Rows encoding of r. Every row must have
// len(r.Columns) values.
func AppendRows(dst []byte, r *Rows) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(r.Columns)))
	for _, c := range r.Columns {
		dst = appendBytes(dst, []byte(c))
	}
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(r.Rows)))
	for _, row := range r.Rows {
		for _, v := range row {
			dst = AppendValue(dst, v)
		}
	}
	return dst
}

// RowsSize returns the encoded size of r, so a host can refuse a result
// over a limit before building it.
func RowsSize(r *Rows) int {
	n := 8
	for _, c := range r.Columns {
		n += 4 + len(c)
	}
	for _, row := range r.Rows {
		n += RowSize(row)
	}
	return n
}

// RowSize returns the encoded size of one row of Rows.
func RowSize(row []Value) int {
	n := 0
	for _, v := range row {
		n += v.encodedLen()
	}
	return n
}

func appendBytes(dst, b []byte) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(b)))
	return append(dst, b...)
}

// decoder reads the encodings; the first error sticks.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) u32() uint32 {
	if d.err != nil || len(d.b) < 4 {
		d.err = ErrBadValues
		return 0
	}
	v := binary.LittleEndian.Uint32(d.b)
	d.b = d.b[4:]
	return v
}

func (d *decoder) u64() uint64 {
	if d.err != nil || len(d.b) < 8 {
		d.err = ErrBadValues
		return 0
	}
	v := binary.LittleEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}

func (d *decoder) bytes() []byte {
	n := d.u32()
	if d.err != nil || uint64(n) > uint64(len(d.b)) {
		d.err = ErrBadValues
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

// count reads a count of items that each take at least min bytes, refusing
// counts the remaining bytes cannot hold so hostile input cannot make a
// decoder allocate.
func (d *decoder) count(min int) int {
	n := d.u32()
	if d.err == nil && uint64(n)*uint64(min) > uint64(len(d.b)) {
		d.err = ErrBadValues
	}
	if d.err != nil {
		return 0
	}
	return int(n)
}

func (d *decoder) value() Value {
	if d.err != nil || len(d.b) < 1 {
		d.err = ErrBadValues
		return Value{}
	}
	t := ValueType(d.b[0])
	d.b = d.b[1:]
	switch t {
	case TypeNull:
		return Null()
	case TypeInteger:
		return Integer(int64(d.u64()))
	case TypeReal:
		return Real(math.Float64frombits(d.u64()))
	case TypeText, TypeBlob:
		return Value{Type: t, Bytes: d.bytes()}
	}
	d.err = ErrBadValues
	return Value{}
}

func (d *decoder) values() []Value {
	n := d.count(1)
	if n == 0 {
		return nil
	}
	out := make([]Value, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		out = append(out, d.value())
	}
	return out
}

func (d *decoder) statement() Statement {
	sql := d.bytes()
	return Statement{SQL: string(sql), Params: d.values()}
}

func (d *decoder) done() error {
	if d.err == nil && len(d.b) != 0 {
		d.err = ErrBadValues
	}
	return d.err
}

// DecodeValues decodes a Values encoding that spans all of b. Text and Blob
// bytes alias b.
func DecodeValues(b []byte) ([]Value, error) {
	d := decoder{b: b}
	v := d.values()
	if err := d.done(); err != nil {
		return nil, err
	}
	return v, nil
}

// DecodeStatement decodes a Statement encoding that spans all of b.
func DecodeStatement(b []byte) (Statement, error) {
	d := decoder{b: b}
	s := d.statement()
	if err := d.done(); err != nil {
		return Statement{}, err
	}
	return s, nil
}

// DecodeBatch decodes a Batch encoding that spans all of b.
func DecodeBatch(b []byte) ([]Statement, error) {
	d := decoder{b: b}
	n := d.count(8)
	out := make([]Statement, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		out = append(out, d.statement())
	}
	if err := d.done(); err != nil {
		return nil, err
	}
	return out, nil
}

// DecodeExecResult decodes the 16-byte encoding of an ExecResult.
func DecodeExecResult(b []byte) (ExecResult, error) {
	d := decoder{b: b}
	r := ExecResult{RowsAffected: int64(d.u64()), LastInsertID: int64(d.u64())}
	if err := d.done(); err != nil {
		return ExecResult{}, err
	}
	return r, nil
}

// DecodeRows decodes a Rows encoding that spans all of b.
func DecodeRows(b []byte) (*Rows, error) {
	d := decoder{b: b}
	nc := d.count(4)
	r := &Rows{Columns: make([]string, 0, nc)}
	for i := 0; i < nc && d.err == nil; i++ {
		r.Columns = append(r.Columns, string(d.bytes()))
	}
	nr := d.count(nc)
	if nc == 0 && nr > 0 {
		d.err = ErrBadValues // rows without columns cannot be told apart
	}
	for i := 0; i < nr && d.err == nil; i++ {
		row := make([]Value, 0, nc)
		for j := 0; j < nc && d.err == nil; j++ {
			row = append(row, d.value())
		}
		r.Rows = append(r.Rows, row)
	}
	if err := d.done(); err != nil {
		return nil, err
	}
	return r, nil
}
