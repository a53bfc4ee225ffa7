package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/time/rate"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/internal/access"
	"github.com/caresignal/caresignal/internal/predlog"
	"github.com/caresignal/caresignal/internal/web"
	"github.com/caresignal/caresignal/model"
	"github.com/caresignal/caresignal/serving"
)

// serveFlags configure the HTTP server.
type serveFlags struct {
	addr        string
	mode        string
	logFormat   string
	tlsCert     string
	tlsKey      string
	proxies     string
	platformTLS bool
	// badEnv lists the boolean environment variables set to something
	// else than a boolean, with their flags.
	badEnv       [][2]string
	rateLimit    float64
	burst        int
	registryPoll time.Duration
	keyRefresh   time.Duration
	predLog      bool
	durableLog   bool
	cadence      cadence
	spillDir     string
	pseudonymKey string
	debugAddr    string

	trusted []netip.Prefix
	// listener, when set, is already listening on addr: demo opens it
	// before its data work, so that a busy port fails at once.
	listener net.Listener
	// modeChosen says --mode or CARESIGNAL_MODE was given, rather than
	// dev taken by default.
	modeChosen bool
	// port is the PORT environment variable when it gives the address
	// (neither --addr nor CARESIGNAL_ADDR given); see usePort.
	port string
}

func (s *serveFlags) register(fs *flag.FlagSet, e *env, logDefault string) {
	fs.StringVar(&s.addr, "addr", envDefault(e, "CARESIGNAL_ADDR", defaultAddr), "address to listen on (env CARESIGNAL_ADDR)")
	fs.StringVar(&s.mode, "mode", envDefault(e, "CARESIGNAL_MODE", "dev"), "server mode: dev (open to anyone who can connect, with a banner) or prod (API keys, roles, login, audit log) (env CARESIGNAL_MODE)")
	fs.StringVar(&s.logFormat, "log-format", envDefault(e, "CARESIGNAL_LOG_FORMAT", logDefault), "log format on stderr: json or text (env CARESIGNAL_LOG_FORMAT)")
	fs.StringVar(&s.tlsCert, "tls-cert", envDefault(e, "CARESIGNAL_TLS_CERT", ""), "serve HTTPS with this PEM certificate (with --tls-key) (env CARESIGNAL_TLS_CERT)")
	fs.StringVar(&s.tlsKey, "tls-key", envDefault(e, "CARESIGNAL_TLS_KEY", ""), "the certificate's PEM private key (env CARESIGNAL_TLS_KEY)")
	fs.StringVar(&s.proxies, "trusted-proxy", envDefault(e, "CARESIGNAL_TRUSTED_PROXY", ""), "comma-separated addresses or CIDRs of the TLS-terminating proxy; in prod mode only they may connect (health probes excepted) (env CARESIGNAL_TRUSTED_PROXY)")
	fs.BoolVar(&s.platformTLS, "tls-terminated-by-platform", s.envBool(e, "CARESIGNAL_TLS_TERMINATED_BY_PLATFORM", "tls-terminated-by-platform"), "TLS ends at a platform's router whose address is not fixed (Heroku, an API gateway): in prod mode every request but the health probes must carry X-Forwarded-Proto: https (env CARESIGNAL_TLS_TERMINATED_BY_PLATFORM)")
	fs.Float64Var(&s.rateLimit, "rate-limit", envFloat(e, "CARESIGNAL_RATE_LIMIT", 0), "requests per second allowed to each API key, 0 for no limit (env CARESIGNAL_RATE_LIMIT)")
	fs.IntVar(&s.burst, "rate-burst", 0, "requests a key may make at once above its rate (default: one second's worth)")
	fs.DurationVar(&s.registryPoll, "registry-poll", time.Second, "how often to read the model registry's serving state (production, canary, shadow); on PostgreSQL changes also arrive at once by notification")
	fs.DurationVar(&s.keyRefresh, "key-refresh", 10*time.Second, "how often to re-read the API keys (revocations elsewhere take effect within this)")
	fs.BoolVar(&s.predLog, "prediction-log", true, "record every prediction served in the database's prediction log")
	fs.BoolVar(&s.durableLog, "durable-log", s.envBool(e, "CARESIGNAL_DURABLE_LOG", "durable-log"), "answer a prediction only once its record is synced to a local journal in the spill directory, so that a crash loses no answered record (one fsync per group of concurrent requests; see docs/operations.md) (env CARESIGNAL_DURABLE_LOG)")
	fs.StringVar(&s.spillDir, "spill-dir", envDefault(e, "CARESIGNAL_SPILL_DIR", ""), "where the prediction log keeps records while the database is unreachable (default <data-dir>/spill) (env CARESIGNAL_SPILL_DIR)")
	s.cadence.register(fs, e)
	fs.StringVar(&s.debugAddr, "debug-addr", envDefault(e, "CARESIGNAL_DEBUG_ADDR", ""), "also serve Go's profiling endpoints (/debug/pprof/) on this loopback address, e.g. 127.0.0.1:6060; off when empty. They have no access control (env CARESIGNAL_DEBUG_ADDR)")
	s.pseudonymKey = envDefault(e, "CARESIGNAL_PSEUDONYM_KEY", "")
}

// usePort makes serve listen on every interface at PORT when neither
// --addr nor CARESIGNAL_ADDR is given: a platform (Heroku and the like)
// sets PORT to the port its router forwards to, from another host, and
// gives no other way to say so. Only serve calls it: demo is for a
// developer's machine, where a PORT set for another program must not
// expose it. Call it after register and before parsing, and addrGiven
// after parsing.
func (s *serveFlags) usePort(fs *flag.FlagSet, e *env) {
	f := fs.Lookup("addr")
	f.Usage = "address to listen on (env CARESIGNAL_ADDR; else :$PORT, every interface, when PORT is set, as platforms such as Heroku set it)"
	if p := portFromEnv(e); p != "" {
		s.port = p
		s.addr = ":" + p
		f.DefValue = s.addr
	}
}

// portFromEnv is PORT when it gives serve's address: set, with
// CARESIGNAL_ADDR unset; empty otherwise. healthcheck asks where serve
// listens by the same rule.
func portFromEnv(e *env) string {
	if e.getenv("CARESIGNAL_ADDR") != "" {
		return ""
	}
	return e.getenv("PORT")
}

// addrGiven forgets PORT when --addr was given on the command line.
func (s *serveFlags) addrGiven(fs *flag.FlagSet) {
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "addr" {
			s.port = ""
		}
	})
}

// listen opens the listener on --addr, saying which flag changes it when
// it cannot.
func (s *serveFlags) listen() (net.Listener, error) {
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return nil, caresignal.Invalidf("addr", "cannot listen on %s: %v; choose another address with --addr (or CARESIGNAL_ADDR), e.g. --addr 127.0.0.1:8081", s.addr, errors.Unwrap(err))
	}
	return ln, nil
}

// envBool reads the boolean environment variable key of a flag (false
// when unset), noting a value that is not a boolean for validate to refuse.
func (s *serveFlags) envBool(e *env, key, flag string) bool {
	v := e.getenv(key)
	if v == "" {
		return false
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		s.badEnv = append(s.badEnv, [2]string{key, flag})
	}
	return b
}

func (s *serveFlags) validate() error {
	switch s.mode {
	case "dev", "prod":
	default:
		return caresignal.Invalidf("mode", "--mode must be dev or prod, got %q", s.mode)
	}
	if s.logFormat != "json" && s.logFormat != "text" {
		return caresignal.Invalidf("log-format", "--log-format must be json or text, got %q", s.logFormat)
	}
	if s.cadence.envErr != nil {
		return s.cadence.envErr
	}
	for _, bad := range s.badEnv {
		return caresignal.Invalidf(bad[1], "%s (--%s) must be true or false", bad[0], bad[1])
	}
	if s.durableLog && !s.predLog {
		return caresignal.Invalidf("durable-log", "--durable-log needs the prediction log: drop --prediction-log=false or --durable-log")
	}
	if (s.tlsCert == "") != (s.tlsKey == "") {
		return caresignal.Invalidf("tls-cert", "--tls-cert and --tls-key go together")
	}
	for _, p := range strings.Split(s.proxies, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		pfx, err := netip.ParsePrefix(p)
		if err != nil {
			ip, ierr := netip.ParseAddr(p)
			if ierr != nil {
				return caresignal.Invalidf("trusted-proxy", "--trusted-proxy: %q is neither an IP address nor a CIDR", p)
			}
			pfx = netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen())
		}
		pfx = pfx.Masked()
		if pfx.Bits() < pfx.Addr().BitLen() && !privateRange(pfx) {
			return caresignal.Invalidf("trusted-proxy", "--trusted-proxy: %s is a range reaching public addresses: anyone there could pose as the TLS-terminating proxy and send keys in clear text. Give the proxy's own address, or a private range (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, fc00::/7, …)", p)
		}
		s.trusted = append(s.trusted, pfx)
	}
	if s.rateLimit < 0 || math.IsNaN(s.rateLimit) || math.IsInf(s.rateLimit, 0) {
		return caresignal.Invalidf("rate-limit", "--rate-limit must be a number of requests per second, 0 or more")
	}
	if s.registryPoll < 100*time.Millisecond || s.keyRefresh < 100*time.Millisecond {
		return caresignal.Invalidf("registry-poll", "--registry-poll and --key-refresh must be at least 100ms")
	}
	if err := checkPseudonymKey(s.pseudonymKey); err != nil {
		return err
	}
	if err := checkLoopback(s.debugAddr); err != nil {
		return err
	}
	if err := s.checkPort(); err != nil {
		return err
	}
	if s.mode == "prod" && s.tlsCert == "" && len(s.trusted) == 0 && !s.platformTLS {
		return caresignal.Invalidf("mode", "--mode prod needs TLS (--tls-cert and --tls-key), a TLS-terminating proxy declared with --trusted-proxy, or --tls-terminated-by-platform: API keys must not cross the network in clear text")
	}
	return nil
}

// checkPort checks the address taken from PORT: a port number, and, since
// PORT is what a platform sets for its public router, a mode chosen
// explicitly: development mode by default there would open the server
// (stop included) to the internet. The Procfile chooses prod.
func (s *serveFlags) checkPort() error {
	if s.port == "" {
		return nil
	}
	if n, err := strconv.ParseUint(s.port, 10, 16); err != nil || n == 0 {
		return caresignal.Invalidf("port", "PORT must be a port number from 1 to 65535, got %q; or give the address with --addr (or CARESIGNAL_ADDR)", s.port)
	}
	if s.mode == "dev" && !s.modeChosen {
		return caresignal.Invalidf("mode", "refusing to start in development mode, where anyone who can connect may do anything (stop the server included), on :%s: PORT is set, as a platform sets it for its router, so the server would listen on every interface. Start with --mode prod --tls-terminated-by-platform (as the Procfile does), choose development mode explicitly with --mode dev (or CARESIGNAL_MODE=dev), or listen on loopback with --addr 127.0.0.1:%s",
			s.port, s.port)
	}
	return nil
}

// privateRanges are the address ranges that are not reachable from the
// public internet: private, loopback, link-local, shared (carrier-grade
// NAT) and unique local addresses.
var privateRanges = func() []netip.Prefix {
	var out []netip.Prefix
	for _, p := range []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "169.254.0.0/16", "100.64.0.0/10",
		"::1/128", "fc00::/7", "fe80::/10"} {
		out = append(out, netip.MustParsePrefix(p))
	}
	return out
}()

// privateRange reports whether every address of p is in one of the
// private ranges.
func privateRange(p netip.Prefix) bool {
	for _, r := range privateRanges {
		if r.Addr().Is4() == p.Addr().Is4() && r.Bits() <= p.Bits() && r.Contains(p.Addr()) {
			return true
		}
	}
	return false
}

// checkDevExposure refuses development mode (no access control) taken by
// default on an address other hosts can reach when the setup looks like
// production: TLS files given, or API keys in the database. Development
// mode chosen explicitly is respected.
func (s *serveFlags) checkDevExposure(activeKeys int) error {
	if s.mode != "dev" || s.modeChosen || loopbackAddr(s.addr) {
		return nil
	}
	var why []string
	if s.tlsCert != "" {
		why = append(why, "TLS files are given")
	}
	if activeKeys > 0 {
		why = append(why, fmt.Sprintf("the database holds %d active API keys", activeKeys))
	}
	if len(why) == 0 {
		return nil
	}
	return caresignal.Invalidf("mode", "refusing to start in development mode, where anyone who can connect may do anything (stop the server included), on %s, an address other hosts can reach: this looks like production (%s). Start with --mode prod, or choose development mode explicitly with --mode dev (or CARESIGNAL_MODE=dev)",
		s.addr, strings.Join(why, ", "))
}

// loopbackAddr reports whether addr (host:port) listens on a loopback
// address only; an empty host listens on every interface.
func loopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// checkLoopback accepts an empty address or one whose host is a loopback
// address or "localhost": the profiling endpoints answer anyone who can
// connect.
func checkLoopback(addr string) error {
	if addr == "" {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return caresignal.Invalidf("debug-addr", "--debug-addr must be host:port, e.g. 127.0.0.1:6060: %v", err)
	}
	if ip, err := netip.ParseAddr(host); host != "localhost" && (err != nil || !ip.IsLoopback()) {
		return caresignal.Invalidf("debug-addr", "--debug-addr must be on a loopback address (127.0.0.1, [::1] or localhost), got %q: the profiling endpoints have no access control", addr)
	}
	return nil
}

// debugHandler serves the runtime's profiles: CPU, heap, allocations,
// goroutines, blocking, mutexes, execution traces. The command line is
// left out, since a --db URL on it may hold a password.
func debugHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/cmdline", http.NotFound)
	return mux
}

func (s *serveFlags) logger(w io.Writer) *slog.Logger {
	if s.logFormat == "text" {
		return slog.New(slog.NewTextHandler(w, nil))
	}
	return slog.New(slog.NewJSONHandler(w, nil))
}

func runServe(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "serve", "", "Serve the JSON API (POST /api/engagement, the MLflow and Open Inference protocols), the web app,\nhealth, metrics and the administrators' API for a model. The model is the model registry's production\nversion when the database has one, else the artifact file. Without --db the server keeps its data in\nan embedded database under --data-dir. Stops cleanly on SIGINT or SIGTERM, finishing requests in\nflight.\n\nIn --mode prod every route but the health probes needs an API key (caresignal keys create) or a\nweb login with one; the server refuses to start without an admin key and without TLS or a trusted\nproxy.")
	var d dataFlags
	d.register(fs, e)
	var s serveFlags
	s.register(fs, e, "json")
	s.usePort(fs, e)
	modelPath := fs.String("model", envDefault(e, "CARESIGNAL_MODEL", ""), "model artifact (default <data-dir>/"+modelFileName+") (env CARESIGNAL_MODEL)")
	if err := parse(fs, args); err != nil {
		return err
	}
	s.modeChosen = e.getenv("CARESIGNAL_MODE") != ""
	fs.Visit(func(f *flag.Flag) { s.modeChosen = s.modeChosen || f.Name == "mode" })
	s.addrGiven(fs)
	if err := s.validate(); err != nil {
		return err
	}
	store, where, err := d.open(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	if s.mode == "dev" && !s.modeChosen && !loopbackAddr(s.addr) {
		keys, err := access.NewKeyring(ctx, store, s.keyRefresh)
		if err != nil {
			return err
		}
		active, _ := keys.Active()
		if err := s.checkDevExposure(active); err != nil {
			return err
		}
	}
	path := *modelPath
	if path == "" {
		path = d.modelPath()
	}
	m, fromRegistry, err := serving.StartingModel(ctx, store, path)
	if err != nil {
		return err
	}
	from := path
	if fromRegistry {
		from = "the model registry"
	}
	if !fromRegistry && s.predLog {
		if err := ensurePublished(ctx, e, store, from, m, "caresignal serve"); err != nil {
			return err
		}
	}
	fmt.Fprintf(e.stdout, "serving model %s version %s from %s, data in %s\n", m.Name, m.Version, from, where)
	if s.spillDir == "" {
		s.spillDir = filepath.Join(d.dataDir, "spill")
	}
	return serve(ctx, e, s, m, store)
}

// serve listens on s.addr and serves until ctx ends or an administrator
// stops it, then shuts down gracefully: new connections are refused and
// requests in flight finish (for up to 15 seconds).
func serve(ctx context.Context, e *env, s serveFlags, m *model.Model, store caresignal.Store) error {
	lw := newLogWriter(e.stderr)
	defer lw.Close()
	log := s.logger(lw)
	if e.getenv("GOGC") == "" {
		// The live heap is a few MiB (models, buffers, the prediction log's
		// queue); collecting at twice the default growth saves a tenth of
		// the CPU under load for a few MiB more.
		defer debug.SetGCPercent(debug.SetGCPercent(200))
	}
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	models := serving.NewModels(m)
	dep := serving.NewDeployer(store, models, m.Name, log)
	if _, err := dep.Sync(ctx); err != nil {
		return fmt.Errorf("reading the model registry: %w", err)
	}
	go dep.Run(ctx, s.registryPoll)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	cfg := web.Config{Models: models, Store: store, Logger: log, Mode: s.mode, Deployer: dep, Stop: stop, Registry: reg,
		PseudonymKey: []byte(s.pseudonymKey), Cadence: s.cadence.d}
	if s.logFormat != "text" {
		cfg.AccessLog = lw // the same JSON lines, written without slog's reflection
	}
	// closeLog flushes the prediction log (Close is idempotent): after the
	// HTTP server stops, and on any early return.
	closeLog := func() error { return nil }
	if s.predLog {
		pl, err := predlog.New(store, predlog.Options{SpillDir: s.spillDir, Durable: s.durableLog, Registry: reg, Logger: log})
		if err != nil {
			return err
		}
		closeLog = func() error {
			closing, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			return pl.Close(closing)
		}
		defer func() {
			if err := closeLog(); err != nil {
				log.Error("closing the prediction log", "err", err)
			}
		}()
		cfg.PredictionLog = pl
	}
	if s.mode == "prod" {
		keys, err := access.NewKeyring(ctx, store, s.keyRefresh)
		if err != nil {
			return err
		}
		all, admins := keys.Active()
		if admins == 0 {
			return caresignal.Invalidf("mode", "--mode prod needs an administrator's API key and the database has %d active keys, none with the admin role: create one with\n  caresignal keys create --role admin --name <who>", all)
		}
		go keys.Run(ctx, func(err error) { log.Warn("re-reading API keys", "err", err) })
		burst := s.burst
		if burst == 0 {
			burst = int(math.Ceil(s.rateLimit))
		}
		cfg.Access = &web.Access{Keys: keys, Store: store, SecureCookies: true, TrustedProxies: s.trusted, PlatformTLS: s.platformTLS,
			RatePerKey: rate.Limit(s.rateLimit), Burst: burst}
	}
	ln := s.listener
	var err error
	if ln == nil {
		if ln, err = s.listen(); err != nil {
			return err
		}
	}
	var dln net.Listener
	if s.debugAddr != "" {
		if dln, err = net.Listen("tcp", s.debugAddr); err != nil {
			ln.Close()
			return fmt.Errorf("cannot listen on --debug-addr %s: %w", s.debugAddr, err)
		}
	}
	h := web.NewHandler(cfg)
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	url := baseURL(ln.Addr(), s.tlsCert != "")
	switch {
	case s.mode == "dev":
		fmt.Fprintf(e.stdout, "\nDEVELOPMENT MODE: no access control. Anyone who can reach %s can use it.\n", ln.Addr())
	default:
		fmt.Fprintf(e.stdout, "\nproduction mode: API keys required (roles predict, viewer, admin); web login at %slogin\n", url)
	}
	fmt.Fprintf(e.stdout, "\n  web app:   %s\n  worklist:  %sworklist\n  API:       curl -s %sapi/engagement -d '{\"features\": {...}}'\n  model:     %sapi/model\n",
		url, url, url, url)
	if dln != nil {
		// No write timeout: a CPU profile or trace takes as long as asked.
		dsrv := &http.Server{Handler: debugHandler(), ReadHeaderTimeout: 5 * time.Second,
			ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
		go dsrv.Serve(dln)
		defer dsrv.Close()
		fmt.Fprintf(e.stdout, "  profiling: http://%s/debug/pprof/ (loopback only, no access control)\n", dln.Addr())
	}
	fmt.Fprintf(e.stdout, "\nPress Ctrl-C to stop.\n")
	done := make(chan error, 1)
	go func() {
		if s.tlsCert != "" {
			done <- srv.ServeTLS(ln, s.tlsCert, s.tlsKey)
			return
		}
		done <- srv.Serve(ln)
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	h.Wait()
	if err := closeLog(); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "stopped")
	return nil
}

// baseURL is the address to open in a browser: loopback and wildcard
// addresses are shown as localhost.
func baseURL(a net.Addr, tls bool) string {
	scheme := "http://"
	if tls {
		scheme = "https://"
	}
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return scheme + a.String() + "/"
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsLoopback() || ip.IsUnspecified() {
		host = "localhost"
	}
	return scheme + net.JoinHostPort(host, port) + "/"
}
