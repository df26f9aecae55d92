// Command convex-server is the convex app's native backend: an HTTP
// service that runs on the node holding the app's active role, beside the
// wasm instance, and serves the documents the app stored, read straight
// from the app's SQLite database on that node.
//
// The host starts it with the app's environment: GOCLUSTER_DB (the
// database file), GOCLUSTER_NODE and GOCLUSTER_TOKEN (who serves, in which
// term). LISTEN is the address to listen on (default :3210).
//
//	GET /healthz                 200 once the database can be read
//	GET /tables/{table}          the table's documents, as JSON
//	GET /tables/{table}/{id}     one document
//
// Every answer carries X-Node and X-Token, so a client sees which node
// served it after a failover.
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"log"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	_ "modernc.org/sqlite"
)

func main() {
	if err := run(); err != nil {
		log.Fatal(err)
	}
}

func run() error {
	path := os.Getenv("GOCLUSTER_DB")
	if path == "" {
		return errors.New("GOCLUSTER_DB is not set: run me as the convex app's backend, or set it to the database file")
	}
	addr := os.Getenv("LISTEN")
	if addr == "" {
		addr = ":3210"
	}
	// Read-only: the wasm app is the database's only writer.
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(2000)")
	if err != nil {
		return err
	}
	defer db.Close()
	srv := &http.Server{Addr: addr, Handler: newHandler(db, os.Getenv("GOCLUSTER_NODE"), os.Getenv("GOCLUSTER_TOKEN")),
		ReadHeaderTimeout: 5 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Printf("convex-server on %s serving %s", addr, path)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}

// Document is one stored document, as the wasm app returns it.
type Document struct {
	ID  int64           `json:"id"`
	Doc json.RawMessage `json:"doc"`
}

func newHandler(db *sql.DB, node, token string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if err := db.PingContext(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /tables/{table}", func(w http.ResponseWriter, r *http.Request) {
		docs, err := query(r.Context(), db, `SELECT id, body FROM documents WHERE tbl = ? ORDER BY id`, r.PathValue("table"))
		reply(w, docs, err)
	})
	mux.HandleFunc("GET /tables/{table}/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil {
			http.Error(w, "id must be a number", http.StatusBadRequest)
			return
		}
		docs, err := query(r.Context(), db, `SELECT id, body FROM documents WHERE tbl = ? AND id = ?`, r.PathValue("table"), id)
		if err == nil && len(docs) == 0 {
			http.Error(w, "no such document", http.StatusNotFound)
			return
		}
		if err == nil {
			reply(w, docs[0], nil)
			return
		}
		reply(w, nil, err)
	})
	return withNode(mux, node, token)
}

func withNode(next http.Handler, node, token string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Node", node)
		w.Header().Set("X-Token", token)
		next.ServeHTTP(w, r)
	})
}

func query(ctx context.Context, db *sql.DB, q string, args ...any) ([]Document, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	docs := []Document{}
	for rows.Next() {
		var d Document
		var body string
		if err := rows.Scan(&d.ID, &body); err != nil {
			return nil, err
		}
		d.Doc = json.RawMessage(body)
		docs = append(docs, d)
	}
	return docs, rows.Err()
}

func reply(w http.ResponseWriter, v any, err error) {
	if err != nil {
		// Before the app's first write there is no table yet.
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
