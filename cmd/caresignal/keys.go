package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/internal/access"
)

func runKeys(ctx context.Context, e *env, args []string) error {
	return subcommand(ctx, e, "keys", "Create, list and revoke the API keys of production mode. A key is shown once, when created; the\ndatabase keeps only a hash of its secret.", args, []command{
		{"create", "create a key with a role (predict, care, viewer or admin) and print it once", runKeysCreate},
		{"list", "list the keys (never their secrets)", runKeysList},
		{"revoke", "revoke a key by its id; servers stop accepting it within --key-refresh", runKeysRevoke},
	})
}

func runKeysCreate(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "keys create", "", "Create an API key and print it. Roles: predict (the prediction API and the web app), viewer (the web\napp, reports and metrics), admin (everything, including models, keys and stopping the server).")
	var d dataFlags
	d.register(fs, e)
	name := fs.String("name", "", "who or what holds the key, e.g. care-team-app (required)")
	role := fs.String("role", "", "predict (the API), care (worklist, patients, contacts), viewer (also monitoring) or admin (required)")
	if err := parse(fs, args); err != nil {
		return err
	}
	plain, k, hash, err := access.NewKey(*name, *role, time.Now())
	if err != nil {
		return err
	}
	store, _, err := d.open(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	err = store.CreateKey(ctx, k, hash)
	cliAudit(ctx, store, "key.create", k.ID+" ("+k.Name+", "+k.Role+")", err)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "created key %s for %s with role %s. It is shown once, below: store it now.\n", k.ID, k.Name, k.Role)
	fmt.Fprintln(e.stdout, plain)
	return nil
}

func runKeysList(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "keys list", "", "List the API keys: id, name, role, when created and revoked.")
	var d dataFlags
	d.register(fs, e)
	asJSON := fs.Bool("json", false, "print JSON")
	return withStore(ctx, fs, &d, args, 0, func(store caresignal.Store, pos []string) error {
		keys, _, err := store.Keys(ctx)
		if err != nil {
			return err
		}
		if *asJSON {
			return writeIndented(e, keys)
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tROLE\tCREATED\tREVOKED")
		for _, k := range keys {
			revoked := "-"
			if k.RevokedAt != nil {
				revoked = k.RevokedAt.Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.ID, k.Name, k.Role, k.CreatedAt.Format(time.RFC3339), revoked)
		}
		return tw.Flush()
	})
}

func runKeysRevoke(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "keys revoke", "ID", "Revoke a key. Servers refuse it within --key-refresh (at once on a server that revoked it), and\nits web sessions end.")
	var d dataFlags
	d.register(fs, e)
	return withStore(ctx, fs, &d, args, 1, func(store caresignal.Store, pos []string) error {
		err := store.RevokeKey(ctx, pos[0], time.Now().UTC())
		cliAudit(ctx, store, "key.revoke", pos[0], err)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "revoked key %s\n", pos[0])
		return nil
	})
}
