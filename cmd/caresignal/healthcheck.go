package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/caresignal/caresignal"
)

// runHealthcheck asks a running server for its liveness probe: exit 0 when
// /healthz answers 200, an error of one line otherwise. A container image
// built FROM scratch has no curl or wget, so its HEALTHCHECK runs the
// binary itself (deploy/container/Dockerfile).
func runHealthcheck(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "healthcheck", "", "Ask the server at --addr for GET /healthz and exit 0 if it answers 200, non-zero with the reason\notherwise: a container's HEALTHCHECK, where no curl is installed. The address and TLS setting are\nread from the same environment as serve's, so the command needs no flags inside the container. A\nserver listening on every interface (:8080, 0.0.0.0:8080) is asked on loopback (127.0.0.1:8080).")
	var addr string
	fs.StringVar(&addr, "addr", envDefault(e, "CARESIGNAL_ADDR", defaultAddr), "the server's address, as given to serve (env CARESIGNAL_ADDR; else :$PORT when PORT is set, as for serve)")
	// As serve does: PORT gives the address when CARESIGNAL_ADDR does not.
	if p := portFromEnv(e); p != "" {
		addr = ":" + p
		fs.Lookup("addr").DefValue = addr
	}
	useTLS := fs.Bool("tls", envDefault(e, "CARESIGNAL_TLS_CERT", "") != "", "ask over HTTPS, as serve answers when given --tls-cert; the certificate is checked unless the server is asked on loopback (default: true when CARESIGNAL_TLS_CERT is set)")
	timeout := fs.Duration("timeout", 3*time.Second, "give up after this long")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *timeout <= 0 {
		return caresignal.Invalidf("timeout", "--timeout must be positive, got %s", *timeout)
	}
	url, loopback, err := healthURL(addr, *useTLS)
	if err != nil {
		return err
	}
	// No proxy from the environment: the server is this host's.
	tr := &http.Transport{Proxy: nil, DisableKeepAlives: true}
	if *useTLS && loopback {
		// On loopback the server's certificate names the host clients use,
		// not 127.0.0.1, and no one else can answer there: not checked.
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	}
	client := &http.Client{Transport: tr, Timeout: *timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		var ue interface{ Timeout() bool }
		if errors.As(err, &ue) && ue.Timeout() {
			return fmt.Errorf("healthcheck: %s did not answer within %s", url, *timeout)
		}
		return fmt.Errorf("healthcheck: %s: %v", url, errors.Unwrap(err))
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s answered %s, want 200 OK", url, resp.Status)
	}
	fmt.Fprintf(e.stdout, "healthy: %s answered 200\n", url)
	return nil
}

// healthURL is the URL of the liveness probe of a server listening on
// addr, and whether it is asked on loopback. An empty or unspecified host
// (every interface) is asked on loopback: that reaches the server from
// inside its own container, whatever its other addresses.
func healthURL(addr string, useTLS bool) (url string, loopback bool, err error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" {
		return "", false, caresignal.Invalidf("addr", "--addr must be host:port or :port, as given to serve, got %q", addr)
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	hostPort := net.JoinHostPort(host, port)
	scheme := "http"
	if useTLS {
		scheme = "https"
	}
	return scheme + "://" + hostPort + "/healthz", loopbackAddr(hostPort), nil
}
