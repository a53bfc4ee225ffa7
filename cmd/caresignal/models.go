package main

import (
	"context"
	"flag"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/model"
)

func runModels(ctx context.Context, e *env, args []string) error {
	return subcommand(ctx, e, "models", "The model registry in the database: publish artifacts as versions, activate one as production, roll\nback, and set a canary or shadow. Each change prints the serving state it leaves. Running servers\nfollow at once on PostgreSQL (which notifies them), else within --registry-poll.", args, []command{
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
// optionally making it the production version (verified again as it
// would be served).
func publishModel(ctx context.Context, store caresignal.Store, path, note string, activate bool) (caresignal.ModelVersion, error) {
	v, m, err := model.PublishFile(ctx, store, path, note, "cli")
	if m != nil {
		cliAudit(ctx, store, "model.publish", m.Name+"@"+m.Version, err)
	}
	if err != nil || !activate {
		return v, err
	}
	_, _, err = model.Activate(ctx, store, m.Name, m.Version, "cli")
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

func runModelsActivate(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "models activate", "NAME VERSION", "Make a version the production version. Its artifact is loaded and verified first; the version it\nreplaces is archived. A canary or shadow naming either version ends with it.")
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
		return printServingState(ctx, e, store, pos[0])
	})
}

func runModelsRollback(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "models rollback", "NAME", "Archive NAME's production version and return to production the version that was production before it.\nA canary or shadow naming either version ends with it.")
	var d dataFlags
	d.register(fs, e)
	return withStore(ctx, fs, &d, args, 1, func(store caresignal.Store, pos []string) error {
		from, to, _, err := model.Rollback(ctx, store, pos[0], "cli")
		cliAudit(ctx, store, "model.rollback", pos[0], err)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%s: production is %s again (%s archived)\n", pos[0], to.Version, from.Version)
		return printServingState(ctx, e, store, pos[0])
	})
}

func runModelsServing(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "models serving", "NAME", "Set how servers answer for NAME beside its production version: a canary version answering a share\nof the requests (split by patient, so a patient keeps one version), and a shadow version scored\nbeside production and never returned. Neither may be the production version. A flag not given\nkeeps its setting, an empty value removes it; without any of the three, print the serving state.")
	var d dataFlags
	d.register(fs, e)
	canary := fs.String("canary", "", "canary version (\"\" removes it)")
	percent := fs.Float64("canary-percent", 0, "share of requests the canary answers, 0-100")
	shadow := fs.String("shadow", "", "shadow version (\"\" removes it)")
	return withStore(ctx, fs, &d, args, 1, func(store caresignal.Store, pos []string) error {
		// Only these three change anything: a --db or --data-dir given to
		// reach the registry must not clear the canary and the shadow.
		given := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
		if !given["canary"] && !given["canary-percent"] && !given["shadow"] {
			return printServingState(ctx, e, store, pos[0])
		}
		cfg, err := store.ServingConfig(ctx, pos[0])
		if err != nil {
			return err
		}
		if given["canary"] {
			cfg.CanaryVersion = *canary
			if *canary == "" {
				cfg.CanaryPercent = 0
			}
		}
		if given["canary-percent"] {
			cfg.CanaryPercent = *percent
		}
		if given["shadow"] {
			cfg.ShadowVersion = *shadow
		}
		cfg.UpdatedAt, cfg.UpdatedByActor = time.Now().UTC(), "cli"
		for _, v := range []string{*canary, *shadow} {
			if v == "" {
				continue
			}
			if _, err := model.FromRegistry(ctx, store, pos[0], v); err != nil {
				return err
			}
		}
		err = store.SetServingConfig(ctx, cfg)
		cliAudit(ctx, store, "model.serving", pos[0], err)
		if err != nil {
			return err
		}
		return printServingState(ctx, e, store, pos[0])
	})
}

// printServingState prints name's serving state as the registry holds it:
// what every server following it serves once it has caught up with the
// generation printed.
func printServingState(ctx context.Context, e *env, store caresignal.Store, name string) error {
	st, err := store.ServingState(ctx, name)
	if err != nil {
		return err
	}
	canary := "none"
	if st.CanaryVersion != "" {
		canary = fmt.Sprintf("%s at %g%%", st.CanaryVersion, st.CanaryPercent)
	}
	changed := ""
	if st.Generation > 0 {
		changed = fmt.Sprintf(", changed %s by %s", st.ChangedAt.Format(time.RFC3339), st.ChangedBy)
	}
	fmt.Fprintf(e.stdout, "%s: production %s, canary %s, shadow %s (generation %d%s)\n", name, orNone(st.Production), canary, orNone(st.ShadowVersion), st.Generation, changed)
	return nil
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
	v, tried, err := model.EnsurePublished(ctx, store, path, m, "published by "+by+", whose predictions are logged", "cli")
	if !tried {
		return err
	}
	cliAudit(ctx, store, "model.publish", m.Name+"@"+m.Version, err)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "published %s@%s to the model registry (%s), so its logged predictions can be rescored\n", v.Name, v.Version, v.Stage)
	return nil
}
