// Command rate is the load benchmark's constant-rate client: it offers a fixed
// number of requests per second to one URL, whatever the server's speed, and
// measures each request's latency from the time it was scheduled to be sent,
// so that a server that stalls is charged for the requests that queued behind
// the stall (no coordinated omission).
//
//	go run ./scripts/loadbench/rate -url http://127.0.0.1:18700/api/engagement \
//	    -body body_single.json -rate 8000 -conns 64 -duration 20s
//
// Request i is due at start + i/rate. A bounded pool of -conns workers, each
// with its own keep-alive connection, takes the requests in order: a free
// worker sleeps until its request is due, then sends it; when every worker is
// busy, the next request waits for one, and its latency counts that wait.
// Such a request, sent more than -late-after behind its time because no
// connection was free, is "late". Requests that fell due during the run but
// are still waiting at its end are sent all the same, for up to -drain more:
// their wait belongs to the tail. Those still unsent then are "dropped": the
// pool, or the server behind it, could not keep the rate. Requests in flight
// are awaited (up to -timeout) and counted. A worker that slept may also wake
// a little after the request's time (timer granularity, or a busy CPU): that
// delay counts in the latency too, and in send_delay_*, but not as late.
//
// The client speaks HTTP/1.1 itself: the request's bytes are built once, and
// each answer is read with net/http's response parser, one goroutine per
// connection, so that the client costs little CPU beside the server.
//
// Output: a few lines for people, then one line "WRKJSON {...}" with the same
// keys as the benchmark's wrk script prints (requests, rps, latency
// percentiles in ms, err_connect/err_read/err_write/err_timeout, non2xx), and
// beside them the offered rate, p99.9, scheduled/sent/late/dropped counts and
// how far behind schedule requests were sent (send_delay_*: the client's own
// timer and scheduling delay, or the wait for a free connection).
//
// Exit status: 0 when the run completed (errors and drops are reported, not
// fatal), 1 on bad flags or files, 2 when no request could be sent at all.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// config is what one run needs; main fills it from the flags.
type config struct {
	URL       string
	Method    string
	Body      []byte
	Headers   []string // "Name: value"
	Rate      float64  // requests per second
	Duration  time.Duration
	Warmup    time.Duration // run this long first, at the same rate, without recording
	Conns     int
	Timeout   time.Duration // per request: connect, write and read
	LateAfter time.Duration
	Drain     time.Duration // after the end, how long requests that fell due are still sent
}

// result is one run's figures; its JSON is the WRKJSON line.
type result struct {
	Requests   int     `json:"requests"` // answers received in the measured part (any status)
	DurationS  float64 `json:"duration_s"`
	RPS        float64 `json:"rps"`  // achieved: answers per second, over the measured part or until the last send if later
	Rate       float64 `json:"rate"` // offered
	Bytes      int64   `json:"bytes"`
	MeanMS     float64 `json:"mean_ms"`
	P50MS      float64 `json:"p50_ms"`
	P90MS      float64 `json:"p90_ms"`
	P99MS      float64 `json:"p99_ms"`
	P999MS     float64 `json:"p999_ms"`
	MaxMS      float64 `json:"max_ms"`
	ErrConnect int     `json:"err_connect"`
	ErrRead    int     `json:"err_read"`
	ErrWrite   int     `json:"err_write"`
	ErrTimeout int     `json:"err_timeout"`
	Non2xx     int     `json:"non2xx"`
	Scheduled  int     `json:"scheduled"` // requests due in the measured part
	Sent       int     `json:"sent"`
	Late       int     `json:"late"`    // sent more than late_after_ms behind their time for want of a free connection
	Dropped    int     `json:"dropped"` // due, never sent
	LateAfter  float64 `json:"late_after_ms"`
	Drained    int     `json:"drained"` // sent after the end of the run (fell due before it)
	SendP50MS  float64 `json:"send_delay_p50_ms"`
	SendP99MS  float64 `json:"send_delay_p99_ms"`
	SendMaxMS  float64 `json:"send_delay_max_ms"`
	Conns      int     `json:"conns"`
	// Errors and non-2xx answers during the warmup, which is otherwise not recorded.
	WarmupErrors int `json:"warmup_errors"`
	WarmupNon2xx int `json:"warmup_non2xx"`
}

// worker is one connection and what it recorded; only its goroutine touches it.
type worker struct {
	conn                                      net.Conn
	br                                        *bufio.Reader
	lat                                       []int64 // ns from scheduled time to the end of the answer, measured part only
	send                                      []int64 // ns from scheduled time to the start of the write, measured part only
	bytes                                     int64
	lastSend                                  time.Time
	sent, late, drained, non2xx               int
	errConnect, errRead, errWrite, errTimeout int
	warmErrors, warmNon2xx                    int
}

// run offers cfg.Rate requests per second for cfg.Warmup + cfg.Duration and
// returns the figures of the last cfg.Duration.
func run(ctx context.Context, cfg config) (result, error) {
	if cfg.Rate <= 0 || math.IsInf(cfg.Rate, 0) || math.IsNaN(cfg.Rate) {
		return result{}, fmt.Errorf("rate must be positive, not %v", cfg.Rate)
	}
	if cfg.Duration <= 0 || cfg.Warmup < 0 || cfg.Drain < 0 || cfg.Conns < 1 || cfg.Timeout <= 0 {
		return result{}, errors.New("duration, conns and timeout must be positive, warmup and drain not negative")
	}
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return result{}, err
	}
	if u.Scheme != "http" || u.Host == "" {
		return result{}, fmt.Errorf("only http://host:port/... URLs, not %q", cfg.URL)
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}
	req, err := requestBytes(cfg, u)
	if err != nil {
		return result{}, err
	}

	total := cfg.Warmup + cfg.Duration
	interval := 1e9 / cfg.Rate // ns between two requests
	due := func(i int64) time.Duration { return time.Duration(float64(i) * interval) }
	// Requests 0..n-1 are due before the end; the measured part starts at request w.
	n := int64(math.Ceil(float64(total) / interval))
	w := int64(math.Ceil(float64(cfg.Warmup) / interval))
	dialer := net.Dialer{Timeout: cfg.Timeout}

	workers := make([]*worker, cfg.Conns)
	perWorker := int((n-w)/int64(cfg.Conns)) + 16
	var ready sync.WaitGroup
	for k := range workers {
		workers[k] = &worker{lat: make([]int64, 0, perWorker*5/4), send: make([]int64, 0, perWorker*5/4)}
		ready.Add(1)
		go func(wk *worker) { // dial ahead, so that no measured request pays for it
			defer ready.Done()
			if c, err := dialer.DialContext(ctx, "tcp", addr); err == nil {
				wk.conn, wk.br = c, bufio.NewReaderSize(c, 16<<10)
			}
		}(workers[k])
	}
	ready.Wait()

	var next atomic.Int64
	start := time.Now().Add(5 * time.Millisecond)
	end := start.Add(total)
	stop := end.Add(cfg.Drain)
	var done sync.WaitGroup
	for _, wk := range workers {
		done.Add(1)
		go func() {
			defer done.Done()
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if i >= n {
					return
				}
				sched := start.Add(due(i))
				now := time.Now()
				waited := false // for a worker: no connection was free when the request fell due
				if d := sched.Sub(now); d > 0 {
					time.Sleep(d)
					now = time.Now()
				} else {
					waited = true
				}
				if now.After(stop) {
					return // the drain is over too: this request and those after it are dropped
				}
				late := waited && now.Sub(sched) > cfg.LateAfter
				wk.do(ctx, &dialer, addr, req, cfg.Timeout, sched, now, late, i >= w)
				if now.After(end) && i >= w {
					wk.drained++
				}
			}
		}()
	}
	done.Wait()
	for _, wk := range workers {
		if wk.conn != nil {
			wk.conn.Close()
		}
	}
	if err := ctx.Err(); err != nil {
		return result{}, err
	}

	res := result{Rate: cfg.Rate, DurationS: cfg.Duration.Seconds(), Scheduled: int(n - w), Conns: cfg.Conns,
		LateAfter: ms(int64(cfg.LateAfter))}
	var lat, send []int64
	var lastSend time.Time
	for _, wk := range workers {
		if wk.lastSend.After(lastSend) {
			lastSend = wk.lastSend
		}
		res.Drained += wk.drained
		lat, send = append(lat, wk.lat...), append(send, wk.send...)
		res.Bytes += wk.bytes
		res.Sent += wk.sent
		res.Late += wk.late
		res.Non2xx += wk.non2xx
		res.ErrConnect += wk.errConnect
		res.ErrRead += wk.errRead
		res.ErrWrite += wk.errWrite
		res.ErrTimeout += wk.errTimeout
		res.WarmupErrors += wk.warmErrors
		res.WarmupNon2xx += wk.warmNon2xx
	}
	res.Dropped = res.Scheduled - res.Sent
	res.Requests = len(lat)
	measureStart := start.Add(due(w))
	res.RPS = float64(len(lat)) / max(cfg.Duration, lastSend.Sub(measureStart)).Seconds()
	if len(lat) > 0 {
		slices.Sort(lat)
		var sum float64
		for _, v := range lat {
			sum += float64(v)
		}
		res.MeanMS = sum / float64(len(lat)) / 1e6
		res.P50MS, res.P90MS, res.P99MS, res.P999MS = ms(pct(lat, 50)), ms(pct(lat, 90)), ms(pct(lat, 99)), ms(pct(lat, 99.9))
		res.MaxMS = ms(lat[len(lat)-1])
	}
	if len(send) > 0 {
		slices.Sort(send)
		res.SendP50MS, res.SendP99MS, res.SendMaxMS = ms(pct(send, 50)), ms(pct(send, 99)), ms(send[len(send)-1])
	}
	if res.Sent == 0 {
		return res, errors.New("no request could be sent")
	}
	return res, nil
}

// do sends one request on the worker's connection (dialling again if the
// last one failed) and reads the whole answer.
func (wk *worker) do(ctx context.Context, dialer *net.Dialer, addr string, req []byte, timeout time.Duration,
	sched, now time.Time, late, measured bool) {
	if measured {
		wk.sent++
		wk.lastSend = now
		wk.send = append(wk.send, int64(now.Sub(sched)))
		if late {
			wk.late++
		}
	}
	fail := func(counter *int) {
		if measured {
			*counter++
		} else {
			wk.warmErrors++
		}
		if wk.conn != nil {
			wk.conn.Close()
			wk.conn = nil
		}
	}
	if wk.conn == nil {
		c, err := dialer.DialContext(ctx, "tcp", addr)
		if err != nil {
			fail(kind(err, &wk.errConnect, &wk.errTimeout))
			return
		}
		wk.conn, wk.br = c, bufio.NewReaderSize(c, 16<<10)
	}
	wk.conn.SetDeadline(now.Add(timeout))
	if _, err := wk.conn.Write(req); err != nil {
		fail(kind(err, &wk.errWrite, &wk.errTimeout))
		return
	}
	resp, err := http.ReadResponse(wk.br, nil)
	if err != nil {
		fail(kind(err, &wk.errRead, &wk.errTimeout))
		return
	}
	nb, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		fail(kind(err, &wk.errRead, &wk.errTimeout))
		return
	}
	end := time.Now()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		if measured {
			wk.non2xx++
		} else {
			wk.warmNon2xx++
		}
	}
	if measured {
		wk.lat = append(wk.lat, int64(end.Sub(sched)))
		wk.bytes += nb
	}
	if resp.Close {
		wk.conn.Close()
		wk.conn = nil
	}
}

// kind picks the timeout counter for a timeout, else the given one.
func kind(err error, other, timeout *int) *int {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return timeout
	}
	return other
}

// requestBytes is the whole HTTP/1.1 request, built once.
func requestBytes(cfg config, u *url.URL) ([]byte, error) {
	method := cfg.Method
	if method == "" {
		method = http.MethodPost
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", method, u.RequestURI(), u.Host)
	contentType := false
	for _, h := range cfg.Headers {
		name, value, ok := strings.Cut(h, ":")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !ok || name == "" || strings.ContainsAny(h, "\r\n") {
			return nil, fmt.Errorf("bad header %q (want \"Name: value\")", h)
		}
		switch http.CanonicalHeaderKey(name) {
		case "Host", "Content-Length", "Connection", "Transfer-Encoding":
			return nil, fmt.Errorf("header %s is set by the client itself", name)
		case "Content-Type":
			contentType = true
		}
		fmt.Fprintf(&b, "%s: %s\r\n", name, value)
	}
	if !contentType && len(cfg.Body) > 0 {
		b.WriteString("Content-Type: application/json\r\n")
	}
	if len(cfg.Body) > 0 || method == http.MethodPost || method == http.MethodPut {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(cfg.Body))
	}
	b.WriteString("\r\n")
	b.Write(cfg.Body)
	return []byte(b.String()), nil
}

// pct is the p-th percentile of sorted values (nearest rank).
func pct(sorted []int64, p float64) int64 {
	k := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[max(0, min(k, len(sorted)-1))]
}

func ms(ns int64) float64 { return math.Round(float64(ns)/1e3) / 1e3 }

type headerFlags []string

func (h *headerFlags) String() string     { return strings.Join(*h, ", ") }
func (h *headerFlags) Set(v string) error { *h = append(*h, v); return nil }

func main() {
	var cfg config
	var headers headerFlags
	flag.StringVar(&cfg.URL, "url", "", "URL to send every request to (http only; required)")
	bodyFile := flag.String("body", "", "file whose bytes are every request's body")
	flag.StringVar(&cfg.Method, "method", "POST", "HTTP method")
	flag.Var(&headers, "H", `extra header "Name: value" (repeatable); Content-Type defaults to application/json`)
	authEnv := flag.String("bearer-env", "", `name of an environment variable: when it is set, every request carries "Authorization: Bearer <its value>"`)
	flag.Float64Var(&cfg.Rate, "rate", 0, "requests per second offered (required)")
	flag.DurationVar(&cfg.Duration, "duration", 10*time.Second, "measured part of the run")
	flag.DurationVar(&cfg.Warmup, "warmup", 0, "unrecorded part at the same rate before the measured one")
	flag.IntVar(&cfg.Conns, "conns", 64, "connections, one worker each: at most this many requests in flight")
	flag.DurationVar(&cfg.Timeout, "timeout", 10*time.Second, "per request (connect, write, read)")
	flag.DurationVar(&cfg.LateAfter, "late-after", time.Millisecond, "a request sent later than this behind its time, for want of a free connection, counts as late")
	flag.DurationVar(&cfg.Drain, "drain", time.Second, "after the run, requests that fell due during it are still sent for this long; the rest are dropped")
	flag.Parse()
	if cfg.URL == "" || cfg.Rate <= 0 || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "rate: -url and -rate are required; no arguments")
		flag.Usage()
		os.Exit(1)
	}
	if *bodyFile != "" {
		b, err := os.ReadFile(*bodyFile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "rate:", err)
			os.Exit(1)
		}
		cfg.Body = b
	}
	cfg.Headers = headers
	if *authEnv != "" {
		if v := os.Getenv(*authEnv); v != "" {
			cfg.Headers = append(cfg.Headers, "Authorization: Bearer "+v)
		}
	}

	// About 1 KiB of garbage per answer, a live heap of a few MiB: at the default
	// GOGC the collector would run several times a second, each pause adding to
	// the send delay of the requests due meanwhile.
	debug.SetGCPercent(800)

	fmt.Printf("rate: %s %s at %.1f req/s, %d connections, %s warmup + %s measured\n",
		cfg.Method, cfg.URL, cfg.Rate, cfg.Conns, cfg.Warmup, cfg.Duration)
	res, err := run(context.Background(), cfg)
	if err != nil && res.Scheduled == 0 {
		fmt.Fprintln(os.Stderr, "rate:", err)
		os.Exit(1)
	}
	fmt.Printf("  Latency from scheduled send: p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f ms\n",
		res.P50MS, res.P90MS, res.P99MS, res.P999MS, res.MaxMS)
	fmt.Printf("  Send delay behind schedule: p50 %.3f  p99 %.3f  max %.3f ms; late (> %s) %d, sent after the end %d, dropped %d of %d\n",
		res.SendP50MS, res.SendP99MS, res.SendMaxMS, cfg.LateAfter, res.Late, res.Drained, res.Dropped, res.Scheduled)
	fmt.Printf("Requests/sec: %.2f (offered %.2f)\n", res.RPS, res.Rate)
	if e := res.ErrConnect + res.ErrRead + res.ErrWrite + res.ErrTimeout; e > 0 {
		fmt.Printf("Socket errors: connect %d, read %d, write %d, timeout %d\n", res.ErrConnect, res.ErrRead, res.ErrWrite, res.ErrTimeout)
	}
	if res.Non2xx > 0 {
		fmt.Printf("Non-2xx or 3xx responses: %d\n", res.Non2xx)
	}
	line, _ := json.Marshal(res)
	fmt.Printf("WRKJSON %s\n", line)
	if err != nil {
		fmt.Fprintln(os.Stderr, "rate:", err)
		os.Exit(2)
	}
}
