package main

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/synth"
)

func runDemo(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "demo", "", "Run the whole pipeline on the embedded database: generate a synthetic cohort with a known hazard,\nload it, run the ELT, train and save the model, score the enrolled patients, and serve the API and\nthe web app until Ctrl-C. Re-running starts again from fresh data.")
	var d dataFlags
	fs.StringVar(&d.dataDir, "data-dir", envDefault(e, "CARESIGNAL_DATA_DIR", defaultDataDir),
		"folder for the embedded database and the model (env CARESIGNAL_DATA_DIR)")
	var cfg synth.Config
	var asOf dateFlag
	synthFlags(fs, &cfg, &asOf)
	var t trainFlags
	t.register(fs, e)
	var s serveFlags
	s.register(fs, e, "text")
	noServe := fs.Bool("no-serve", false, "stop after scoring instead of serving")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := s.validate(); err != nil {
		return err
	}
	cfg.AsOf = asOf.t
	spec, err := t.loadSpec()
	if err != nil {
		return err
	}
	if err := t.applyBaseline(spec); err != nil {
		return err
	}
	opt, err := t.options(false)
	if err != nil {
		return err
	}
	if t.out == "" {
		t.out = d.modelPath()
	}
	fmt.Fprintf(e.stdout, "caresignal demo: a synthetic care program, end to end, in %s\n", filepath.Clean(d.dataDir))
	store, where, err := d.open(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	c, err := stepGenerate(ctx, e, "[1/5] ", store, where, cfg)
	if err != nil {
		return err
	}
	if _, err := stepETL(ctx, e, "[2/5] ", store, c.Config.AsOf); err != nil {
		return err
	}
	m, err := stepTrain(ctx, e, "[3/5] ", store, d.kind(), spec, opt, t.out)
	if err != nil {
		return err
	}
	v, err := publishModel(ctx, store, t.out, "trained by caresignal demo", true)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "      published to the model registry as %s@%s (production)\n", v.Name, v.Version)
	if err := stepScore(ctx, e, "[4/5] ", store, m, caresignal.DefaultHorizon, ""); err != nil {
		return err
	}
	if *noServe {
		return nil
	}
	fmt.Fprintf(e.stdout, "[5/5] serving model version %s on %s\n", m.Version, s.addr)
	if s.spillDir == "" {
		s.spillDir = filepath.Join(d.dataDir, "spill")
	}
	return serve(ctx, e, s, m, store)
}
