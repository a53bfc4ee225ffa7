package serverless_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/caresignal/caresignal/cmd/serverless"
	"github.com/caresignal/caresignal/internal/modeltest"
)

// runtimeAPI is a stand-in for the Lambda Runtime API on loopback: it
// hands out one event (GET …/invocation/next), records the function's
// response (POST …/invocation/{id}/response) with the time it arrived,
// and holds every later next request until the process is killed, as
// Lambda does while no event waits.
type runtimeAPI struct {
	event []byte
	mu    sync.Mutex
	given bool
	done  chan result
	hold  chan struct{}
}

type result struct {
	at   time.Time
	body []byte
	err  string // the path of an error report, with its body
}

func newRuntimeAPI(event []byte) *runtimeAPI {
	return &runtimeAPI{event: event, done: make(chan result, 1), hold: make(chan struct{})}
}

func (a *runtimeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	const prefix = "/2018-06-01/runtime/"
	switch {
	case r.Method == http.MethodGet && r.URL.Path == prefix+"invocation/next":
		a.mu.Lock()
		first := !a.given
		a.given = true
		a.mu.Unlock()
		if !first {
			select {
			case <-a.hold:
			case <-r.Context().Done():
			}
			return
		}
		h := w.Header()
		h.Set("Lambda-Runtime-Aws-Request-Id", "8476a536-e9f4-11e8-9739-2dfe598c3fcd")
		h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(30*time.Second).UnixMilli(), 10))
		h.Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:eu-west-1:123456789012:function:caresignal")
		h.Set("Lambda-Runtime-Trace-Id", "Root=1-6752f1a0-3b8c4d2e1f0a9b8c7d6e5f4a;Parent=9a8b7c6d5e4f3a2b;Sampled=0")
		w.Write(a.event)
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/response"):
		at := time.Now()
		body, _ := io.ReadAll(r.Body)
		w.WriteHeader(http.StatusAccepted)
		a.done <- result{at: at, body: body}
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/error"):
		body, _ := io.ReadAll(r.Body)
		w.WriteHeader(http.StatusAccepted)
		a.done <- result{at: time.Now(), err: r.URL.Path + ": " + string(body)}
	default:
		http.NotFound(w, r)
	}
}

// bundle builds the binary as the provided.al2023 runtime runs it (an
// executable named bootstrap) with the artifact beside it, as a function
// is deployed.
func bundle(t testing.TB) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH; the cold start needs the binary built")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "bootstrap")
	build := exec.Command(goBin, "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "../caresignal")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the binary: %v\n%s", err, out)
	}
	_, artifact := modeltest.Engagement(t, modeltest.Cohort{Patients: 1500, Seed: 5})
	if err := os.WriteFile(filepath.Join(dir, serverless.ModelFileName), artifact, 0o600); err != nil {
		t.Fatal(err)
	}
	return bin
}

// coldStart starts the bundled binary as Lambda starts it, with env
// added, feeds it one event and returns the time from exec to the
// response's arrival, and the response. Its CPU time (user and system,
// to the answer and the wait for the next event), which the machine's
// other work does not stretch as it stretches the wall time, goes to
// *cpu when cpu is not nil.
func coldStart(t testing.TB, bin string, event []byte, cpu *time.Duration, env ...string) (time.Duration, []byte) {
	t.Helper()
	api := newRuntimeAPI(event)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: api}
	go srv.Serve(ln)
	defer srv.Close()
	defer close(api.hold)
	cmd := exec.Command(bin) // no arguments, as the runtime runs bootstrap
	cmd.Env = append([]string{"AWS_LAMBDA_RUNTIME_API=" + ln.Addr().String(), "HOME=" + os.TempDir(), "PATH=/usr/bin:/bin"}, env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	defer func() {
		cmd.Process.Kill()
		<-exited
	}()
	select {
	case r := <-api.done:
		if r.err != "" {
			t.Fatalf("the function reported an error: %s\n%s", r.err, stderr.String())
		}
		if cpu != nil {
			cmd.Process.Kill()
			<-exited
			*cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		}
		return r.at.Sub(start), r.body
	case <-exited:
		t.Fatalf("the function exited before answering:\n%s", stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("no answer after 30s:\n%s", stderr.String())
	}
	return 0, nil
}

// coldStartEvent is the HTTP API event of a prediction, the caller
// admitted by a JWT authorizer.
func coldStartEvent(t testing.TB) []byte {
	b, err := os.ReadFile(filepath.Join("testdata", "apigw-v2", "jwt-authorizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestColdStart starts the bundled binary as AWS Lambda does, several
// times, and logs the median time from exec to the first answer: the
// artifact bundled, the gateway's authorizer trusted (no database to
// open). Each answer must be the prediction. The time is logged, not
// held to a bound: this machine's other work sets it as much as the code.
func TestColdStart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := bundle(t)
	event := coldStartEvent(t)
	var times, cpus []time.Duration
	for range 11 {
		var cpu time.Duration
		d, body := coldStart(t, bin, event, &cpu, "CARESIGNAL_TRUST_GATEWAY_AUTHORIZER=true")
		var resp events.APIGatewayV2HTTPResponse
		if err := json.Unmarshal(body, &resp); err != nil {
			t.Fatalf("the response event %s: %v", body, err)
		}
		if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Body, `"patient_id":"P0012345"`) {
			t.Fatalf("the first answer is not the prediction: %d %s", resp.StatusCode, resp.Body)
		}
		times, cpus = append(times, d), append(cpus, cpu)
	}
	// The part no function code runs in: exec, the Go runtime and the
	// package initialisers of the one binary, measured by a command that
	// does nothing else.
	var bases, baseCPUs []time.Duration
	for range 11 {
		cmd := exec.Command(bin, "version")
		start := time.Now()
		if out, err := cmd.Output(); err != nil {
			t.Fatalf("%s version: %v %s", bin, err, out)
		}
		bases = append(bases, time.Since(start))
		baseCPUs = append(baseCPUs, cmd.ProcessState.UserTime()+cmd.ProcessState.SystemTime())
	}
	r := func(ds []time.Duration) time.Duration {
		slices.Sort(ds)
		return ds[len(ds)/2].Round(10 * time.Microsecond)
	}
	t.Logf("cold start, exec to first answer, artifact bundled: median %v, CPU %v (%d runs; min %v, max %v); exec to exit of \"bootstrap version\": median %v, CPU %v",
		r(times), r(cpus), len(times), slices.Min(times).Round(10*time.Microsecond), slices.Max(times).Round(10*time.Microsecond), r(bases), r(baseCPUs))
}

// BenchmarkColdStart reports the median cold start (exec to the first
// answer, artifact bundled) in ms/start: trusting the gateway's
// authorizer (no database), and checking an API key in a SQLite database
// (opened and migrated at start, the key ring read, the prediction log
// started and flushed before the answer).
//
//	go test ./cmd/serverless -run '^$' -bench ColdStart -benchtime 20x
func BenchmarkColdStart(b *testing.B) {
	bin := bundle(b)
	b.Run("authorizer", func(b *testing.B) {
		benchColdStart(b, bin, coldStartEvent(b), "CARESIGNAL_TRUST_GATEWAY_AUTHORIZER=true")
	})
	b.Run("sqlite-keys", func(b *testing.B) {
		fx := newFixture(b)
		event, err := os.ReadFile(filepath.Join("testdata", "apigw-v2", "engagement.json"))
		if err != nil {
			b.Fatal(err)
		}
		benchColdStart(b, bin, event, "CARESIGNAL_DB="+fx.db, "CARESIGNAL_SPILL_DIR="+b.TempDir())
	})
}

func benchColdStart(b *testing.B, bin string, event []byte, env ...string) {
	times := make([]time.Duration, 0, b.N)
	cpus := make([]time.Duration, 0, b.N)
	for range b.N {
		var cpu time.Duration
		d, body := coldStart(b, bin, event, &cpu, env...)
		if !bytes.Contains(body, []byte(`"statusCode":200`)) {
			b.Fatalf("the first answer is not the prediction: %s", body)
		}
		times, cpus = append(times, d), append(cpus, cpu)
	}
	slices.Sort(times)
	slices.Sort(cpus)
	b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "ms/start")
	b.ReportMetric(float64(cpus[len(cpus)/2].Microseconds())/1000, "cpu-ms/start")
}
