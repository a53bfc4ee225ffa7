package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/caresignal/caresignal"
)

// The commands with subcommands (keys, models, evaluate) and what the
// administrators' commands share. The administrators' commands act on the
// database directly (a running server picks registry changes up within
// --registry-poll and key changes within --key-refresh); each change is
// written to the audit log as actor "cli".

// subcommand dispatches "caresignal NAME SUB ...".
func subcommand(ctx context.Context, e *env, name, doc string, args []string, subs []command) error {
	help := func() {
		fmt.Fprintf(e.stderr, "Usage: caresignal %s <subcommand> [flags]\n\n%s\n\nSubcommands:\n", name, doc)
		for _, c := range subs {
			fmt.Fprintf(e.stderr, "  %-9s %s\n", c.name, c.synopsis)
		}
	}
	if len(args) == 0 {
		help()
		return errUsage
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		help()
		return flag.ErrHelp
	}
	for _, c := range subs {
		if c.name == args[0] {
			return c.run(ctx, e, args[1:])
		}
	}
	fmt.Fprintf(e.stderr, "caresignal %s: unknown subcommand %q\n\n", name, args[0])
	help()
	return errUsage
}

func cliAudit(ctx context.Context, store caresignal.Store, action, target string, err error) {
	outcome, detail := "ok", ""
	if err != nil {
		outcome, detail = "failed", caresignal.ErrorMessage(err)
		if caresignal.ErrorCode(err) == caresignal.EINVALID || caresignal.ErrorCode(err) == caresignal.ENOTFOUND || caresignal.ErrorCode(err) == caresignal.ECONFLICT {
			outcome = "refused"
		}
	}
	store.AppendAudit(ctx, caresignal.AuditEntry{At: time.Now().UTC(), Actor: "cli", Action: action, Target: target, Outcome: outcome, Detail: detail})
}

// withStore parses a subcommand's command line, which takes nargs
// positional arguments, opens the database and runs fn with it.
func withStore(ctx context.Context, fs *flag.FlagSet, d *dataFlags, args []string, nargs int, fn func(store caresignal.Store, pos []string) error) error {
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != nargs {
		fmt.Fprintf(fs.Output(), "expected %d argument(s), got %d: %q\n", nargs, len(pos), pos)
		fs.Usage()
		return errUsage
	}
	store, _, err := d.open(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	return fn(store, pos)
}

func writeIndented(e *env, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(e.stdout, string(b))
	return err
}

func orNone(s string) string {
	if strings.TrimSpace(s) == "" {
		return "none"
	}
	return s
}
