// Command floor is the load benchmark's lower bound: a bare net/http server
// that answers every POST with the same fixed JSON bytes (caresignal's own
// answer to the benchmark's single-patient request, captured by run.sh), so
// that wrk measures the cost of HTTP alone on this machine.
//
//	go run ./scripts/loadbench/floor -addr 127.0.0.1:18702 -body response_single.json
//
// GET /healthz answers {"status":"ok"}; any other GET or method is a 405.
package main

import (
	"flag"
	"io"
	"log"
	"net/http"
	"os"
	"strconv"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18702", "address to listen on")
	bodyFile := flag.String("body", "", "file whose bytes are the answer to every POST (required)")
	flag.Parse()
	if *bodyFile == "" {
		log.Fatal("floor: -body is required")
	}
	body, err := os.ReadFile(*bodyFile)
	if err != nil {
		log.Fatalf("floor: %v", err)
	}
	length := strconv.Itoa(len(body))
	health := []byte(`{"status":"ok"}`)

	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPost:
			// Read the request like a real handler would, then answer the fixed bytes.
			if _, err := io.Copy(io.Discard, r.Body); err != nil {
				http.Error(w, `{"error":"read body"}`, http.StatusBadRequest)
				return
			}
			h := w.Header()
			h.Set("Content-Type", "application/json")
			h.Set("Content-Length", length)
			w.Write(body)
		case r.Method == http.MethodGet && r.URL.Path == "/healthz":
			w.Header().Set("Content-Type", "application/json")
			w.Write(health)
		default:
			w.Header().Set("Allow", "POST")
			http.Error(w, `{"error":"method not allowed"}`, http.StatusMethodNotAllowed)
		}
	})
	log.Printf("floor: %d-byte answer from %s on %s", len(body), *bodyFile, *addr)
	log.Fatal(http.ListenAndServe(*addr, handler))
}
