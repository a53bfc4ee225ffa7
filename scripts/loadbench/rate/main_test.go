package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// The tolerances below are wide on purpose: these tests run on shared
// machines, and what they check (the schedule holds, queueing behind a stall
// is charged to the requests that waited) shows at any sensible tolerance.

func TestRateHoldsAndLatencyIncludesServerDelay(t *testing.T) {
	const delay = 2 * time.Millisecond
	var mu sync.Mutex
	var arrivals []time.Time
	var bad []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		arrivals = append(arrivals, time.Now())
		if r.Method != http.MethodPost || string(body) != `{"x":1}` || r.Header.Get("Content-Type") != "application/json" ||
			r.Header.Get("Authorization") != "Bearer k" || r.URL.Path != "/api/engagement" {
			bad = append(bad, r.Method+" "+r.URL.Path+" "+string(body)+" "+r.Header.Get("Authorization"))
		}
		mu.Unlock()
		time.Sleep(delay)
		w.Write([]byte(`{"ok":true}`))
	}))
	defer srv.Close()

	cfg := config{URL: srv.URL + "/api/engagement", Body: []byte(`{"x":1}`), Headers: []string{"Authorization: Bearer k"},
		Rate: 400, Warmup: 250 * time.Millisecond, Duration: time.Second, Conns: 8, Timeout: 5 * time.Second,
		LateAfter: time.Millisecond, Drain: time.Second}
	res, err := run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", res)
	if len(bad) > 0 {
		t.Fatalf("the server got unexpected requests: %q", bad[:min(3, len(bad))])
	}
	if res.Scheduled != 400 || res.Sent != 400 || res.Dropped != 0 || res.Requests != 400 {
		t.Errorf("scheduled %d, sent %d, dropped %d, answered %d; want 400, 400, 0, 400",
			res.Scheduled, res.Sent, res.Dropped, res.Requests)
	}
	if res.Non2xx+res.ErrConnect+res.ErrRead+res.ErrWrite+res.ErrTimeout+res.WarmupErrors+res.WarmupNon2xx != 0 {
		t.Errorf("errors: %+v", res)
	}
	if res.RPS != 400 || res.Rate != 400 {
		t.Errorf("rps %.1f, rate %.1f; want 400", res.RPS, res.Rate)
	}
	// The server saw the warmup and the measured requests, spread over the whole run.
	if len(arrivals) != 500 {
		t.Errorf("the server got %d requests, want 500 (100 warmup + 400)", len(arrivals))
	}
	if span := arrivals[len(arrivals)-1].Sub(arrivals[0]); span < 1200*time.Millisecond || span > 1350*time.Millisecond {
		t.Errorf("the requests arrived over %s, want about 1.25 s (500 at 400/s)", span)
	}
	// Latency covers the server's delay, and little more when nothing queues.
	if res.P50MS < 2 || res.P50MS > 20 {
		t.Errorf("p50 %.3f ms, want 2 ms (the server's delay) plus a little", res.P50MS)
	}
	if !(res.P50MS <= res.P90MS && res.P90MS <= res.P99MS && res.P99MS <= res.P999MS && res.P999MS <= res.MaxMS) {
		t.Errorf("percentiles out of order: %+v", res)
	}
}

func TestStallIsChargedToTheRequestsThatQueued(t *testing.T) {
	// At 200 req/s, request 50 (due at 250 ms) closes the server for 300 ms:
	// everything due meanwhile waits, on the 4 connections or for one.
	const stall = 300 * time.Millisecond
	var mu sync.Mutex
	n := 0
	var until time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		mu.Lock()
		n++
		if n == 50 {
			until = time.Now().Add(stall)
		}
		wait := time.Until(until)
		mu.Unlock()
		if wait > 0 {
			time.Sleep(wait)
		}
	}))
	defer srv.Close()

	res, err := run(context.Background(), config{URL: srv.URL, Body: []byte("{}"), Rate: 200, Duration: 1500 * time.Millisecond,
		Conns: 4, Timeout: 5 * time.Second, LateAfter: time.Millisecond, Drain: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", res)
	if res.Scheduled != 300 || res.Dropped != 0 || res.Requests != 300 {
		t.Errorf("scheduled %d, dropped %d, answered %d; want 300, 0, 300", res.Scheduled, res.Dropped, res.Requests)
	}
	// About 60 requests fell due during the stall; their latencies spread from
	// 300 ms down to 0, so a fifth of all requests are slow. Measured from the
	// actual send, only the 4 in flight would be.
	if res.MaxMS < 280 || res.MaxMS > 600 {
		t.Errorf("max %.1f ms, want about 300 (the stall)", res.MaxMS)
	}
	if res.P99MS < 250 {
		t.Errorf("p99 %.1f ms, want about 290", res.P99MS)
	}
	if res.P90MS < 100 {
		t.Errorf("p90 %.1f ms, want about 150: the queueing behind the stall is missing", res.P90MS)
	}
	if res.Late < 40 || res.Late > 100 {
		t.Errorf("late %d, want about 56 (due during the stall, no connection free) and a few more while the queue drains", res.Late)
	}
	if res.SendMaxMS < 250 {
		t.Errorf("send delay max %.1f ms, want about 300", res.SendMaxMS)
	}
}

func TestUnsentAtTheEndIsDropped(t *testing.T) {
	// Every answer takes 600 ms; two connections; 20 requests due in 500 ms
	// and 500 ms to drain: 2 are sent on time, 2 more at 600 ms (400 ms
	// before the drain ends, so that a slow machine still sends them), the
	// next two could go at 1,200 ms, after it: 16 never.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		time.Sleep(600 * time.Millisecond)
	}))
	defer srv.Close()
	res, err := run(context.Background(), config{URL: srv.URL, Rate: 40, Duration: 500 * time.Millisecond,
		Conns: 2, Timeout: 5 * time.Second, LateAfter: time.Millisecond, Drain: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", res)
	if res.Scheduled != 20 || res.Sent != 4 || res.Drained != 2 || res.Late != 2 || res.Dropped != 16 || res.Requests != 4 {
		t.Errorf("scheduled %d, sent %d (%d after the end, %d late), dropped %d, answered %d; want 20, 4 (2, 2), 16, 4",
			res.Scheduled, res.Sent, res.Drained, res.Late, res.Dropped, res.Requests)
	}
	if res.RPS < 6 || res.RPS > 6.7 {
		t.Errorf("achieved %.2f req/s, want about 6.6 (4 answers, the last sent at 600 ms)", res.RPS)
	}
	if res.MaxMS < 1150 {
		t.Errorf("max %.1f ms, want at least 1,150 (request 2: due at 50 ms, sent at 600, answered at 1,200)", res.MaxMS)
	}
}

func TestErrorsAreCounted(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusTeapot)
	}))
	res, err := run(context.Background(), config{URL: srv.URL, Rate: 100, Warmup: 100 * time.Millisecond,
		Duration: 200 * time.Millisecond, Conns: 2, Timeout: time.Second, LateAfter: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Non2xx != 20 || res.WarmupNon2xx != 10 || res.Requests != 20 {
		t.Errorf("non-2xx %d (warmup %d) of %d answers; want 20 (10) of 20", res.Non2xx, res.WarmupNon2xx, res.Requests)
	}
	addr := srv.Listener.Addr().String()
	srv.Close() // nothing listens any more: every request is a connect error
	res, err = run(context.Background(), config{URL: "http://" + addr, Rate: 100, Duration: 100 * time.Millisecond,
		Conns: 2, Timeout: time.Second, LateAfter: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.ErrConnect != 10 || res.Requests != 0 || res.Dropped != 0 {
		t.Errorf("connect errors %d, answers %d, dropped %d; want 10, 0, 0", res.ErrConnect, res.Requests, res.Dropped)
	}
}

func TestRequestBytes(t *testing.T) {
	u, _ := url.Parse("http://127.0.0.1:9/api/engagement?x=1")
	b, err := requestBytes(config{Body: []byte(`{}`), Headers: []string{"X-A: b", "authorization:  Bearer k "}}, u)
	if err != nil {
		t.Fatal(err)
	}
	want := "POST /api/engagement?x=1 HTTP/1.1\r\nHost: 127.0.0.1:9\r\nX-A: b\r\nauthorization: Bearer k\r\n" +
		"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
	if string(b) != want {
		t.Errorf("request\n%q\nwant\n%q", b, want)
	}
	for _, h := range []string{"no colon", "Content-Length: 3", "Host: x", "X: a\r\nY: b"} {
		if _, err := requestBytes(config{Headers: []string{h}}, u); err == nil {
			t.Errorf("header %q accepted", h)
		}
	}
	if _, err := run(context.Background(), config{URL: "https://x/", Rate: 1, Duration: time.Second, Conns: 1, Timeout: time.Second}); err == nil ||
		!strings.Contains(err.Error(), "http://") {
		t.Errorf("https URL: %v", err)
	}
}
