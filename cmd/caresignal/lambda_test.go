package main

import (
	"context"
	"io"
	"slices"
	"strings"
	"testing"
)

// TestLambdaArgs: the binary runs the lambda command when Lambda starts
// it (named bootstrap, or with the Runtime API set) with no arguments,
// and only then.
func TestLambdaArgs(t *testing.T) {
	api := func(k string) string {
		if k == "AWS_LAMBDA_RUNTIME_API" {
			return "127.0.0.1:9001"
		}
		return ""
	}
	cases := []struct {
		argv0  string
		args   []string
		getenv func(string) string
		want   []string
	}{
		{"/var/task/bootstrap", nil, noEnv, []string{"lambda"}},
		{"bootstrap", []string{"version"}, noEnv, []string{"version"}},
		{"/usr/local/bin/caresignal", nil, api, []string{"lambda"}},
		{"/usr/local/bin/caresignal", []string{"serve"}, api, []string{"serve"}},
		{"/usr/local/bin/caresignal", nil, noEnv, nil},
	}
	for _, c := range cases {
		if got := lambdaArgs(c.argv0, c.args, c.getenv); !slices.Equal(got, c.want) {
			t.Errorf("lambdaArgs(%q, %q): %q, want %q", c.argv0, c.args, got, c.want)
		}
	}
}

// TestLambdaRefuses: outside Lambda, and with settings that would serve
// without a way to check callers, the command says why instead of
// starting.
func TestLambdaRefuses(t *testing.T) {
	cases := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{}, "AWS_LAMBDA_RUNTIME_API"},
		{map[string]string{"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:1"}, "CARESIGNAL_TRUST_GATEWAY_AUTHORIZER=true"},
		{map[string]string{"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:1", "CARESIGNAL_MODE": "dev", "CARESIGNAL_MODEL": "/nonexistent/m.json"}, "/nonexistent/m.json"},
	}
	for _, c := range cases {
		err := run(context.Background(), []string{"lambda"}, func(k string) string { return c.env[k] }, strings.NewReader(""), io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want an error naming %s", c.env, err, c.want)
		}
	}
}
