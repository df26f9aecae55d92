package plugins

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ozanturksever/go-cluster/abi"
)

// The database host functions of abi.ExtismHostNamespace. SQL values
// travel as JSON objects with exactly one member naming their type:
// {"null":true}, {"int":n}, {"real":x}, {"text":"..."} or {"blob":"<base64>"}.

// extValue is an abi.Value in its JSON form.
type extValue abi.Value

var (
	_ json.Marshaler   = extValue{}
	_ json.Unmarshaler = (*extValue)(nil)
)

func (v extValue) MarshalJSON() ([]byte, error) {
	switch v.Type {
	case abi.TypeInteger:
		return json.Marshal(struct {
			Int int64 `json:"int"`
		}{v.Int})
	case abi.TypeReal:
		return json.Marshal(struct {
			Real float64 `json:"real"`
		}{v.Real})
	case abi.TypeText:
		return json.Marshal(struct {
			Text string `json:"text"`
		}{string(v.Bytes)})
	case abi.TypeBlob:
		return json.Marshal(struct {
			Blob []byte `json:"blob"`
		}{orEmpty(v.Bytes)})
	}
	return []byte(`{"null":true}`), nil
}

var errBadValue = errors.New(`a SQL value is one of {"null":true}, {"int":n}, {"real":x}, {"text":"..."}, {"blob":"<base64>"}`)

func (v *extValue) UnmarshalJSON(b []byte) error {
	var raw struct {
		Null *bool    `json:"null"`
		Int  *int64   `json:"int"`
		Real *float64 `json:"real"`
		Text *string  `json:"text"`
		Blob *[]byte  `json:"blob"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	n := 0
	for _, set := range []bool{raw.Null != nil, raw.Int != nil, raw.Real != nil, raw.Text != nil, raw.Blob != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return errBadValue
	}
	switch {
	case raw.Null != nil:
		if !*raw.Null {
			return errBadValue
		}
		*v = extValue(abi.Null())
	case raw.Int != nil:
		*v = extValue(abi.Integer(*raw.Int))
	case raw.Real != nil:
		*v = extValue(abi.Real(*raw.Real))
	case raw.Text != nil:
		*v = extValue(abi.Text(*raw.Text))
	default:
		*v = extValue(abi.Blob(*raw.Blob))
	}
	return nil
}

type extSQLReq struct {
	SQL    string     `json:"sql"`
	Params []extValue `json:"params"`
}

// statement checks the SQL and converts the parameters.
func (r *extSQLReq) statement() (abi.Statement, error) {
	if err := checkLen("sql", r.SQL, 1, abi.MaxSQLLen); err != nil {
		return abi.Statement{}, err
	}
	st := abi.Statement{SQL: r.SQL, Params: make([]abi.Value, len(r.Params))}
	for i, p := range r.Params {
		st.Params[i] = abi.Value(p)
	}
	return st, nil
}

type extExecResp struct {
	RowsAffected int64 `json:"rows_affected"`
	LastInsertID int64 `json:"last_insert_id"`
}

type extRowsResp struct {
	Columns []string     `json:"columns"`
	Rows    [][]extValue `json:"rows"`
}

type extBatchReq struct {
	Statements []extSQLReq `json:"statements"`
}

type extBatchResp struct {
	Results []extExecResp `json:"results"`
}

func extDBExec(ctx context.Context, in *instance, r *extSQLReq) (any, error) {
	st, err := r.statement()
	if err != nil {
		return nil, err
	}
	res, err := in.app.caps.DBExec(ctx, st.SQL, st.Params)
	if err != nil {
		return nil, err
	}
	return extExecResp(res), nil
}

func extDBQuery(ctx context.Context, in *instance, r *extSQLReq) (any, error) {
	st, err := r.statement()
	if err != nil {
		return nil, err
	}
	rows, err := in.app.caps.DBQuery(ctx, st.SQL, st.Params, in.app.lim.Payload)
	if err != nil {
		return nil, err
	}
	out := extRowsResp{Columns: rows.Columns, Rows: make([][]extValue, len(rows.Rows))}
	if out.Columns == nil {
		out.Columns = []string{}
	}
	for i, row := range rows.Rows {
		out.Rows[i] = make([]extValue, len(row))
		for j, v := range row {
			out.Rows[i][j] = extValue(v)
		}
	}
	return out, nil
}

func extDBBatch(ctx context.Context, in *instance, r *extBatchReq) (any, error) {
	if len(r.Statements) == 0 {
		return nil, fmt.Errorf("a batch needs at least one statement: %w", abi.ErrInvalid)
	}
	stmts := make([]abi.Statement, len(r.Statements))
	for i := range r.Statements {
		var err error
		if stmts[i], err = r.Statements[i].statement(); err != nil {
			return nil, fmt.Errorf("statement %d: %w", i, err)
		}
	}
	res, err := in.app.caps.DBBatch(ctx, stmts)
	if err != nil {
		return nil, err
	}
	out := extBatchResp{Results: make([]extExecResp, len(res))}
	for i, x := range res {
		out.Results[i] = extExecResp(x)
	}
	return out, nil
}
