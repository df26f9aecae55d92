// Command convex is a small document store in the shape of a Convex
// backend: one active instance owns a SQLite database that the platform
// replicates to the standbys, a virtual IP follows the active, and a native
// HTTP service (./server) runs beside it and serves what this app stored.
//
// API (JSON in, JSON out):
//
//	put   {"table":"messages","doc":{...}}          -> {"id":1}
//	put   {"table":"messages","id":1,"doc":{...}}   -> {"id":1}   (replace)
//	get   {"table":"messages","id":1}               -> {"id":1,"doc":{...}}
//	list  {"table":"messages"}                      -> [{"id":1,"doc":{...}},...]
package main

import (
	"encoding/json"
	"fmt"

	sdk "github.com/ozanturksever/go-cluster/sdk-go"
)

func init() {
	sdk.OnActive(createSchema)
	sdk.Handle("put", put)
	sdk.Handle("get", get)
	sdk.Handle("list", list)
}

func main() {}

// schema is created by the active: standbys' copies are read-only and
// receive it through replication.
var schema = []sdk.Stmt{
	{SQL: `CREATE TABLE IF NOT EXISTS documents (
		id    INTEGER PRIMARY KEY,
		tbl   TEXT NOT NULL,
		body  TEXT NOT NULL
	)`},
	{SQL: `CREATE INDEX IF NOT EXISTS documents_tbl ON documents (tbl, id)`},
}

func createSchema() error {
	_, err := sdk.Batch(schema...)
	return err
}

type request struct {
	Table string          `json:"table"`
	ID    int64           `json:"id,omitempty"`
	Doc   json.RawMessage `json:"doc,omitempty"`
}

// Document is one stored document; the server answers in the same shape.
type Document struct {
	ID  int64           `json:"id"`
	Doc json.RawMessage `json:"doc"`
}

// errBadRequest reaches the caller with the status invalid.
var errBadRequest = fmt.Errorf("bad request: %w", sdk.ErrInvalid)

func parse(payload []byte) (request, error) {
	var r request
	if err := json.Unmarshal(payload, &r); err != nil {
		return r, fmt.Errorf("%w: %v", errBadRequest, err)
	}
	if r.Table == "" || len(r.Table) > 64 {
		return r, fmt.Errorf("%w: table must be 1 to 64 bytes", errBadRequest)
	}
	return r, nil
}

func put(payload []byte) ([]byte, error) {
	r, err := parse(payload)
	if err != nil {
		return nil, err
	}
	if !json.Valid(r.Doc) {
		return nil, fmt.Errorf("%w: doc must be a JSON value", errBadRequest)
	}
	if r.ID != 0 {
		res, err := sdk.Exec(`UPDATE documents SET body = ? WHERE tbl = ? AND id = ?`, string(r.Doc), r.Table, r.ID)
		if err != nil {
			return nil, err
		}
		if res.RowsAffected == 0 {
			return nil, fmt.Errorf("document %d in %s: %w", r.ID, r.Table, sdk.ErrNotFound)
		}
		return json.Marshal(Document{ID: r.ID})
	}
	res, err := sdk.Exec(`INSERT INTO documents (tbl, body) VALUES (?, ?)`, r.Table, string(r.Doc))
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]int64{"id": res.LastInsertID})
}

func get(payload []byte) ([]byte, error) {
	r, err := parse(payload)
	if err != nil {
		return nil, err
	}
	rows, err := sdk.Query(`SELECT id, body FROM documents WHERE tbl = ? AND id = ?`, r.Table, r.ID)
	if err != nil {
		return nil, err
	}
	docs, err := documents(rows)
	if err != nil {
		return nil, err
	}
	if len(docs) == 0 {
		return nil, fmt.Errorf("document %d in %s: %w", r.ID, r.Table, sdk.ErrNotFound)
	}
	return json.Marshal(docs[0])
}

func list(payload []byte) ([]byte, error) {
	r, err := parse(payload)
	if err != nil {
		return nil, err
	}
	rows, err := sdk.Query(`SELECT id, body FROM documents WHERE tbl = ? ORDER BY id`, r.Table)
	if err != nil {
		return nil, err
	}
	docs, err := documents(rows)
	if err != nil {
		return nil, err
	}
	return json.Marshal(docs)
}

func documents(rows *sdk.Rows) ([]Document, error) {
	docs := make([]Document, 0, len(rows.Rows))
	for _, row := range rows.Rows {
		var d Document
		var body string
		if err := row.Scan(&d.ID, &body); err != nil {
			return nil, err
		}
		d.Doc = json.RawMessage(body)
		docs = append(docs, d)
	}
	return docs, nil
}
