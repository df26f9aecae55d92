package main

import (
	"database/sql"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
)

func TestServesStoredDocuments(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db.sqlite")
	w, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for _, q := range []string{
		`CREATE TABLE documents (id INTEGER PRIMARY KEY, tbl TEXT NOT NULL, body TEXT NOT NULL)`,
		`INSERT INTO documents (tbl, body) VALUES ('messages', '{"text":"hi"}'), ('other', '1')`,
	} {
		if _, err := w.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	srv := httptest.NewServer(newHandler(db, "n1", "7"))
	defer srv.Close()

	for _, tc := range []struct {
		path string
		code int
		want string
	}{
		{"/healthz", 200, "ok\n"},
		{"/tables/messages", 200, `[{"id":1,"doc":{"text":"hi"}}]` + "\n"},
		{"/tables/messages/1", 200, `{"id":1,"doc":{"text":"hi"}}` + "\n"},
		{"/tables/messages/2", 404, "no such document\n"},
		{"/tables/messages/x", 400, "id must be a number\n"},
		{"/tables/none", 200, "[]\n"},
	} {
		resp, err := http.Get(srv.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != tc.code || string(body) != tc.want {
			t.Errorf("GET %s = %d %q, want %d %q", tc.path, resp.StatusCode, body, tc.code, tc.want)
		}
		if resp.Header.Get("X-Node") != "n1" || resp.Header.Get("X-Token") != "7" {
			t.Errorf("GET %s: X-Node %q X-Token %q", tc.path, resp.Header.Get("X-Node"), resp.Header.Get("X-Token"))
		}
	}
}
