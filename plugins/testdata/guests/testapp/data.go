package main

// Methods on the app's database, locks and events:
//
//	insert    payload an id; inserts it into table ledger (made on first
//	          use) in one transaction; replies "ok"
//	ids       replies every id in ledger, one per line, sorted
//	sql       payload a sqlRequest in JSON; runs it (exec, query or
//	          batch) and replies a sqlReply in JSON, or the error as the
//	          host returned it, message included
//	lock      payload a lockRequest in JSON; replies {"token": N}
//	publish   payload "topic:data"; publishes data on topic
//	received  replies every event on_event took, one "source.topic:data"
//	          per line, in KV order (needs kv)
//
// on_event records each event in KV under "got/<source>.<topic>/<data>".
// An event whose data starts with "fail-once" is refused the first time
// it arrives (KV key "seen/<data>" remembers it), so a durable
// subscription must deliver it again.

import (
	"encoding/json"
	"errors"
	"strings"
	"time"

	sdk "github.com/ozanturksever/go-cluster/sdk-go"
)

func init() {
	sdk.Handle("insert", insert)
	sdk.Handle("ids", ids)
	sdk.Handle("sql", sqlMethod)
	sdk.Handle("lock", lockMethod)
	sdk.Handle("publish", publish)
	sdk.Handle("received", received)
	sdk.OnEvent(onEvent)
}

func insert(p []byte) ([]byte, error) {
	_, err := sdk.Batch(
		sdk.Stmt{SQL: "CREATE TABLE IF NOT EXISTS ledger (id TEXT PRIMARY KEY, at INTEGER NOT NULL)"},
		sdk.Stmt{SQL: "INSERT INTO ledger (id, at) VALUES (?, ?)", Args: []any{string(p), time.Now().UnixNano()}},
	)
	if err != nil {
		return nil, err
	}
	return []byte("ok"), nil
}

func ids([]byte) ([]byte, error) {
	if _, err := sdk.Exec("CREATE TABLE IF NOT EXISTS ledger (id TEXT PRIMARY KEY, at INTEGER NOT NULL)"); err != nil {
		return nil, err
	}
	rows, err := sdk.Query("SELECT id FROM ledger ORDER BY id")
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	for _, r := range rows.Rows {
		var id string
		if err := r.Scan(&id); err != nil {
			return nil, err
		}
		b.WriteString(id)
		b.WriteByte('\n')
	}
	return []byte(b.String()), nil
}

type sqlStmt struct {
	SQL  string `json:"sql"`
	Args []any  `json:"args,omitempty"`
}

type sqlRequest struct {
	Exec  *sqlStmt  `json:"exec,omitempty"`
	Query *sqlStmt  `json:"query,omitempty"`
	Batch []sqlStmt `json:"batch,omitempty"`
}

type sqlReply struct {
	Results []sdk.Result `json:"results,omitempty"`
	Columns []string     `json:"columns,omitempty"`
	Rows    [][]any      `json:"rows,omitempty"`
}

// jsonArgs turns JSON numbers that are whole into int64, so a test can
// send integers; a {"blob": "text"} object becomes []byte.
func jsonArgs(args []any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case float64:
			if v == float64(int64(v)) {
				out[i] = int64(v)
				continue
			}
			out[i] = v
		case map[string]any:
			s, _ := v["blob"].(string)
			out[i] = []byte(s)
		default:
			out[i] = v
		}
	}
	return out
}

func sqlMethod(p []byte) ([]byte, error) {
	var req sqlRequest
	if err := json.Unmarshal(p, &req); err != nil {
		return nil, sdk.NewError(sdk.StatusInvalid, "bad request: "+err.Error())
	}
	var rep sqlReply
	switch {
	case req.Exec != nil:
		r, err := sdk.Exec(req.Exec.SQL, jsonArgs(req.Exec.Args)...)
		if err != nil {
			return nil, err
		}
		rep.Results = []sdk.Result{r}
	case req.Query != nil:
		rows, err := sdk.Query(req.Query.SQL, jsonArgs(req.Query.Args)...)
		if err != nil {
			return nil, err
		}
		rep.Columns = rows.Columns
		for _, r := range rows.Rows {
			row := make([]any, len(r))
			for i, v := range r {
				if b, ok := v.([]byte); ok {
					v = map[string]string{"blob": string(b)}
				}
				row[i] = v
			}
			rep.Rows = append(rep.Rows, row)
		}
	default:
		stmts := make([]sdk.Stmt, len(req.Batch))
		for i, s := range req.Batch {
			stmts[i] = sdk.Stmt{SQL: s.SQL, Args: jsonArgs(s.Args)}
		}
		res, err := sdk.Batch(stmts...)
		if err != nil {
			return nil, err
		}
		rep.Results = res
	}
	return json.Marshal(rep)
}

type lockRequest struct {
	Op     string `json:"op"` // acquire, renew, release
	Name   string `json:"name"`
	TTLMS  int64  `json:"ttl_ms"`
	WaitMS int64  `json:"wait_ms"`
	Token  uint64 `json:"token"`
}

func lockMethod(p []byte) ([]byte, error) {
	var req lockRequest
	if err := json.Unmarshal(p, &req); err != nil {
		return nil, sdk.NewError(sdk.StatusInvalid, "bad request: "+err.Error())
	}
	ttl := time.Duration(req.TTLMS) * time.Millisecond
	switch req.Op {
	case "acquire":
		h, err := sdk.Lock(req.Name, ttl, sdk.WaitFor(time.Duration(req.WaitMS)*time.Millisecond))
		if err != nil {
			return nil, err
		}
		return json.Marshal(map[string]uint64{"token": h.Token()})
	case "renew", "release":
		h := sdk.HeldLock(req.Name, req.Token)
		var err error
		if req.Op == "renew" {
			err = h.Renew(ttl)
		} else {
			err = h.Release()
		}
		if err != nil {
			return nil, err
		}
		return json.Marshal(map[string]uint64{"token": req.Token})
	}
	return nil, sdk.NewError(sdk.StatusInvalid, "unknown op "+req.Op)
}

func publish(p []byte) ([]byte, error) {
	topic, data, _ := strings.Cut(string(p), ":")
	return nil, sdk.Publish(topic, []byte(data))
}

func onEvent(e sdk.Event) error {
	data := string(e.Data)
	if strings.HasPrefix(data, "fail-once") {
		if _, err := sdk.KVCreate("seen/"+data, []byte("1")); err == nil {
			return errors.New("refusing " + data + " the first time")
		} else if !errors.Is(err, sdk.ErrConflict) {
			return err
		}
	}
	_, err := sdk.KVPut("got/"+e.Source+"."+e.Topic+"/"+data, []byte(data))
	return err
}

func received([]byte) ([]byte, error) {
	keys, err := sdk.KVKeys("got/")
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(strings.TrimPrefix(k, "got/"))
		b.WriteByte('\n')
	}
	return []byte(b.String()), nil
}
