package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/caresignal/caresignal"
)

func runAudit(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "audit", "", "Print the audit log of administrative actions, newest first: model activations and rollbacks, key\nchanges, drains and stops, and refused attempts, by whom, with their outcome.")
	var d dataFlags
	d.register(fs, e)
	limit := fs.Int("limit", 50, "entries to print")
	asJSON := fs.Bool("json", false, "print JSON")
	return withStore(ctx, fs, &d, args, 0, func(store caresignal.Store, pos []string) error {
		entries, err := store.AuditLog(ctx, *limit)
		if err != nil {
			return err
		}
		if *asJSON {
			return writeIndented(e, entries)
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "AT\tACTOR\tACTION\tTARGET\tOUTCOME\tDETAIL")
		for _, a := range entries {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", a.At.Format(time.RFC3339), a.Actor, a.Action, a.Target, a.Outcome, a.Detail)
		}
		return tw.Flush()
	})
}
