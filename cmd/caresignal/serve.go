package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/internal/web"
	"github.com/caresignal/caresignal/model"
)

// serveFlags configure the HTTP server.
type serveFlags struct {
	addr      string
	mode      string
	logFormat string
}

func (s *serveFlags) register(fs *flag.FlagSet, e *env, logDefault string) {
	fs.StringVar(&s.addr, "addr", envDefault(e, "CARESIGNAL_ADDR", defaultAddr), "address to listen on (env CARESIGNAL_ADDR)")
	fs.StringVar(&s.mode, "mode", envDefault(e, "CARESIGNAL_MODE", "dev"), "server mode: dev (open to anyone who can connect, with a banner) (env CARESIGNAL_MODE)")
	fs.StringVar(&s.logFormat, "log-format", envDefault(e, "CARESIGNAL_LOG_FORMAT", logDefault), "log format on stderr: json or text (env CARESIGNAL_LOG_FORMAT)")
}

func (s *serveFlags) validate() error {
	if s.mode != "dev" {
		return caresignal.Invalidf("mode", "--mode %q is not available in this build: only dev", s.mode)
	}
	if s.logFormat != "json" && s.logFormat != "text" {
		return caresignal.Invalidf("log-format", "--log-format must be json or text, got %q", s.logFormat)
	}
	return nil
}

func (s *serveFlags) logger(w io.Writer) *slog.Logger {
	if s.logFormat == "text" {
		return slog.New(slog.NewTextHandler(w, nil))
	}
	return slog.New(slog.NewJSONHandler(w, nil))
}

func runServe(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "serve", "", "Serve the JSON API (POST /api/engagement, GET /api/model, GET /healthz) and the web app (/ and\n/worklist) for a saved model. Without --db the server keeps its data in an embedded database under\n--data-dir. Stops cleanly on SIGINT or SIGTERM, finishing requests in flight.")
	var d dataFlags
	d.register(fs, e)
	var s serveFlags
	s.register(fs, e, "json")
	modelPath := fs.String("model", envDefault(e, "CARESIGNAL_MODEL", ""), "model artifact (default <data-dir>/"+modelFileName+") (env CARESIGNAL_MODEL)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := s.validate(); err != nil {
		return err
	}
	if *modelPath == "" {
		*modelPath = d.modelPath()
	}
	m, err := model.LoadFile(*modelPath)
	if err != nil {
		return err
	}
	store, where, err := d.open(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	fmt.Fprintf(e.stdout, "serving model %s version %s from %s, data in %s\n", m.Name, m.Version, *modelPath, where)
	return serve(ctx, e, s, m, store)
}

// serve listens on s.addr and serves until ctx ends, then shuts down
// gracefully: new connections are refused and requests in flight finish
// (for up to 15 seconds).
func serve(ctx context.Context, e *env, s serveFlags, m *model.Model, store caresignal.Store) error {
	log := s.logger(e.stderr)
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %w", s.addr, err)
	}
	srv := &http.Server{
		Handler:           web.NewHandler(web.Config{Model: m, Store: store, Logger: log, Mode: s.mode}),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	url := baseURL(ln.Addr())
	if s.mode == "dev" {
		fmt.Fprintf(e.stdout, "\nDEVELOPMENT MODE: no access control. Anyone who can reach %s can use it.\n", ln.Addr())
	}
	fmt.Fprintf(e.stdout, "\n  web app:   %s\n  worklist:  %sworklist\n  API:       curl -s %sapi/engagement -d '{\"features\": {...}}'\n  model:     %sapi/model\n\nPress Ctrl-C to stop.\n",
		url, url, url, url)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
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
	fmt.Fprintln(e.stdout, "stopped")
	return nil
}

// baseURL is the address to open in a browser: loopback and wildcard
// addresses are shown as localhost.
func baseURL(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return "http://" + a.String() + "/"
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsLoopback() || ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port) + "/"
}
