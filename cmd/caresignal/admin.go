package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/internal/access"
	"github.com/caresignal/caresignal/model"
)

// The administrators' commands: API keys, the audit log and the model
// registry, acting on the database directly (a running server picks
// registry changes up within --registry-poll and key changes within
// --key-refresh). Each change is written to the audit log as actor "cli".

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

func runKeys(ctx context.Context, e *env, args []string) error {
	return subcommand(ctx, e, "keys", "Create, list and revoke the API keys of production mode. A key is shown once, when created; the\ndatabase keeps only a hash of its secret.", args, []command{
		{"create", "create a key with a role (predict, viewer or admin) and print it once", runKeysCreate},
		{"list", "list the keys (never their secrets)", runKeysList},
		{"revoke", "revoke a key by its id; servers stop accepting it within --key-refresh", runKeysRevoke},
	})
}

func runKeysCreate(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "keys create", "", "Create an API key and print it. Roles: predict (the prediction API and the web app), viewer (the web\napp, reports and metrics), admin (everything, including models, keys and stopping the server).")
	var d dataFlags
	d.register(fs, e)
	name := fs.String("name", "", "who or what holds the key, e.g. care-team-app (required)")
	role := fs.String("role", "", "predict, viewer or admin (required)")
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

func writeIndented(e *env, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(e.stdout, string(b))
	return err
}

func runModels(ctx context.Context, e *env, args []string) error {
	return subcommand(ctx, e, "models", "The model registry in the database: publish artifacts as versions, activate one as production, roll\nback, and set a canary or shadow. Running servers follow within --registry-poll.", args, []command{
		{"publish", "store a model artifact as a staging version (--activate: make it production)", runModelsPublish},
		{"list", "list the versions with their stages", runModelsList},
		{"activate", "make NAME VERSION the production version (verified first)", runModelsActivate},
		{"rollback", "return NAME's production to the version before it", runModelsRollback},
		{"serving", "set NAME's canary (version and percent) and shadow version", runModelsServing},
		{"history", "print NAME's stage changes, newest first", runModelsHistory},
	})
}

func runModelsPublish(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "models publish", "", "Store a model artifact in the registry as a staging version of its name.")
	var d dataFlags
	d.register(fs, e)
	path := fs.String("model", "", "model artifact (default <data-dir>/"+modelFileName+")")
	note := fs.String("note", "", "a note kept with the version")
	activate := fs.Bool("activate", false, "also make it the production version")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *path == "" {
		*path = d.modelPath()
	}
	store, _, err := d.open(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	v, err := publishModel(ctx, store, *path, *note, *activate)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "published %s@%s (%s, %d bytes, sha256 %s)\n", v.Name, v.Version, v.Stage, v.Size, v.Checksum[:12])
	return nil
}

// publishModel verifies an artifact file and stores it in the registry,
// optionally making it the production version.
func publishModel(ctx context.Context, store caresignal.Store, path, note string, activate bool) (caresignal.ModelVersion, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return caresignal.ModelVersion{}, &caresignal.Error{Code: caresignal.ENOTFOUND, Message: "cannot read model file " + path, Err: err}
	}
	m, err := model.Load(bytes.NewReader(b))
	if err != nil {
		return caresignal.ModelVersion{}, fmt.Errorf("model file %s: %w", path, err)
	}
	v, err := store.PublishModel(ctx, caresignal.ModelVersion{Name: m.Name, Version: m.Version, Note: note}, b, "cli")
	if caresignal.ErrorCode(err) == caresignal.ECONFLICT {
		// The registry holds this version in other bytes: the same model
		// trained again, whose training record differs (the version names
		// what a model computes, not when it was trained). It keeps the
		// copy it has.
		v, _, err = store.ModelArtifact(ctx, m.Name, m.Version)
	}
	cliAudit(ctx, store, "model.publish", m.Name+"@"+m.Version, err)
	if err != nil || !activate {
		return v, err
	}
	_, err = store.SetStage(ctx, m.Name, m.Version, caresignal.StageProduction, "cli")
	cliAudit(ctx, store, "model.activate", m.Name+"@"+m.Version, err)
	if err != nil {
		return v, err
	}
	v.Stage = caresignal.StageProduction
	return v, nil
}

func runModelsList(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "models list", "", "List the registry's versions, newest first.")
	var d dataFlags
	d.register(fs, e)
	name := fs.String("name", "", "only this model name")
	asJSON := fs.Bool("json", false, "print JSON")
	return withStore(ctx, fs, &d, args, 0, func(store caresignal.Store, pos []string) error {
		versions, err := store.ModelVersions(ctx, *name)
		if err != nil {
			return err
		}
		if *asJSON {
			return writeIndented(e, versions)
		}
		if len(versions) == 0 {
			fmt.Fprintln(e.stdout, "the registry is empty: publish a model with caresignal models publish")
			return nil
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tVERSION\tSTAGE\tSINCE\tSIZE\tSHA256\tNOTE")
		for _, v := range versions {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", v.Name, v.Version, v.Stage, v.StageChangedAt.Format(time.RFC3339), v.Size, v.Checksum[:12], v.Note)
		}
		return tw.Flush()
	})
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

func runModelsActivate(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "models activate", "NAME VERSION", "Make a version the production version. Its artifact is loaded and verified first; the version it\nreplaces is archived.")
	var d dataFlags
	d.register(fs, e)
	return withStore(ctx, fs, &d, args, 2, func(store caresignal.Store, pos []string) error {
		target := pos[0] + "@" + pos[1]
		prev, _, err := model.Activate(ctx, store, pos[0], pos[1], "cli")
		cliAudit(ctx, store, "model.activate", target, err)
		if err != nil {
			return err
		}
		if prev.Version != "" {
			fmt.Fprintf(e.stdout, "%s is production; %s archived\n", target, prev.Version)
		} else {
			fmt.Fprintf(e.stdout, "%s is production\n", target)
		}
		return nil
	})
}

func runModelsRollback(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "models rollback", "NAME", "Archive NAME's production version and return to production the version that was production before it.")
	var d dataFlags
	d.register(fs, e)
	return withStore(ctx, fs, &d, args, 1, func(store caresignal.Store, pos []string) error {
		from, to, _, err := model.Rollback(ctx, store, pos[0], "cli")
		cliAudit(ctx, store, "model.rollback", pos[0], err)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%s: production is %s again (%s archived)\n", pos[0], to.Version, from.Version)
		return nil
	})
}

func runModelsServing(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "models serving", "NAME", "Set how servers answer for NAME beside its production version: a canary version answering a share\nof the requests (split by patient, so a patient keeps one version), and a shadow version scored\nbeside production and never returned. Empty values remove them; without flags, print the settings.")
	var d dataFlags
	d.register(fs, e)
	canary := fs.String("canary", "", "canary version")
	percent := fs.Float64("canary-percent", 0, "share of requests the canary answers, 0-100")
	shadow := fs.String("shadow", "", "shadow version")
	return withStore(ctx, fs, &d, args, 1, func(store caresignal.Store, pos []string) error {
		set := false
		fs.Visit(func(*flag.Flag) { set = true })
		if set {
			cfg := caresignal.ServingConfig{Name: pos[0], CanaryVersion: *canary, CanaryPercent: *percent, ShadowVersion: *shadow,
				UpdatedAt: time.Now().UTC(), UpdatedByActor: "cli"}
			for _, v := range []string{*canary, *shadow} {
				if v == "" {
					continue
				}
				if _, err := model.FromRegistry(ctx, store, pos[0], v); err != nil {
					return err
				}
			}
			err := store.SetServingConfig(ctx, cfg)
			cliAudit(ctx, store, "model.serving", pos[0], err)
			if err != nil {
				return err
			}
		}
		cfg, err := store.ServingConfig(ctx, pos[0])
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%s: canary %s at %g%%, shadow %s\n", pos[0], orNone(cfg.CanaryVersion), cfg.CanaryPercent, orNone(cfg.ShadowVersion))
		return nil
	})
}

func orNone(s string) string {
	if strings.TrimSpace(s) == "" {
		return "none"
	}
	return s
}

func runModelsHistory(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "models history", "NAME", "Print NAME's stage changes, newest first.")
	var d dataFlags
	d.register(fs, e)
	limit := fs.Int("limit", 50, "entries to print")
	return withStore(ctx, fs, &d, args, 1, func(store caresignal.Store, pos []string) error {
		h, err := store.StageHistory(ctx, pos[0], *limit)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "AT\tVERSION\tFROM\tTO\tACTOR")
		for _, c := range h {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.At.Format(time.RFC3339), c.Version, orNone(c.From), c.To, c.Actor)
		}
		return tw.Flush()
	})
}

// ensurePublished stores the artifact at path in the registry as a staging
// version unless the registry already has its version, so that every
// version that makes logged predictions can be rescored from the registry
// (caresignal evaluate parity). It says so when it publishes.
func ensurePublished(ctx context.Context, e *env, store caresignal.Store, path string, m *model.Model, by string) error {
	_, _, err := store.ModelArtifact(ctx, m.Name, m.Version)
	if caresignal.ErrorCode(err) != caresignal.ENOTFOUND {
		return err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return &caresignal.Error{Code: caresignal.ENOTFOUND, Message: "cannot read model file " + path, Err: err}
	}
	v, err := store.PublishModel(ctx, caresignal.ModelVersion{Name: m.Name, Version: m.Version, Note: "published by " + by + ", whose predictions are logged"}, b, "cli")
	cliAudit(ctx, store, "model.publish", m.Name+"@"+m.Version, err)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "published %s@%s to the model registry (%s), so its logged predictions can be rescored\n", v.Name, v.Version, v.Stage)
	return nil
}
