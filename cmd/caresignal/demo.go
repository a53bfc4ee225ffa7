package main

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/model"
	"github.com/caresignal/caresignal/synth"
)

// The demo runs the steps of the single-step commands (stepGenerate,
// stepETL, stepTrain, stepScore, stepReport) in turn; stepTrain's read
// and fit are separate (readTraining, trainingData.train) so that the
// model compared by horizon is fitted on the extract already read. Each
// step prints one result line (prefixed, e.g. "[2/7] ") to stdout and
// shows its progress on stderr while it runs.

func runDemo(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "demo", "", "Run the whole pipeline on the embedded database: generate a synthetic cohort with a known hazard,\nload it, run the ELT as of --follow-up months before the data's end, train and save the model, score the\npatients enrolled then, follow them up to the data's end and write the evaluation report (accuracy,\ncalibration, expected vs realised drop-offs, drift), score today's patients, and serve the API and the web\napp until Ctrl-C. --drift injects a shift from the training date on, for monitoring to catch. Re-running\nstarts again from fresh data.")
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
	noServe := fs.Bool("no-serve", false, "stop after the report instead of serving")
	followUp := fs.Int("follow-up", 6, "months between training and the data's end, over which the first scores are followed up (0: train on all the data, no outcomes)")
	drift := fs.Bool("drift", false, "inject a drift from the training date on: an older, sicker enrolee mix and a higher drop-off hazard")
	var df driftFlags
	df.register(fs, "with --drift, start it on this date instead, YYYY-MM-DD")
	var r reportFlags
	r.register(fs, e, false)
	compare := fs.Bool("compare-horizons", true, "also train the other horizon model (landmark or carry-forward) on the same data, unpublished, and\ncompare the two month by month ahead in the report")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := s.validate(); err != nil {
		return err
	}
	if *followUp < 0 || *followUp > 24 {
		return caresignal.Invalidf("follow-up", "--follow-up must be between 0 and 24 months, got %d", *followUp)
	}
	cfg.AsOf = asOf.t
	trainAsOf := cfg.AsOf.AddDate(0, -*followUp, 0)
	if *drift {
		if *followUp == 0 {
			return caresignal.Invalidf("drift", "--drift needs a follow-up window (--follow-up 1 or more) to show up in")
		}
		df.apply(&cfg, trainAsOf)
	}
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
	if !*noServe {
		// The port is checked before the minute of data work, and held.
		ln, err := s.listen()
		if err != nil {
			return fmt.Errorf("%w (or --no-serve to stop after the report)", err)
		}
		defer ln.Close()
		s.listener = ln
	}
	fmt.Fprintf(e.stdout, "caresignal demo: a synthetic care program, end to end, in %s\n", filepath.Clean(d.dataDir))
	store, where, err := d.open(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	if _, err := stepGenerate(ctx, e, "[1/7] ", store, where, cfg); err != nil {
		return err
	}
	if _, err := stepETL(ctx, e, "[2/7] ", store, trainAsOf); err != nil {
		return err
	}
	td, err := readTraining(ctx, e, store)
	if err != nil {
		return err
	}
	m, err := td.train(ctx, e, "[3/7] ", d.kind(), spec, opt, t.out)
	if err != nil {
		return err
	}
	v, err := publishModel(ctx, store, t.out, "trained by caresignal demo", true)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "      published to the model registry as %s@%s (production)\n", v.Name, v.Version)
	if *compare && *followUp > 0 {
		// The other horizon model, on the same extract, for the report's
		// comparison by horizon; it is saved beside the model, not
		// published, and scores nothing.
		other := opt
		other.HorizonModel = model.HorizonLandmark
		if m.HorizonModel() == model.HorizonLandmark {
			other.HorizonModel = model.HorizonCarryForward
		}
		out := filepath.Join(filepath.Dir(t.out), "engagement."+other.HorizonModel+".model.json")
		m2, err := td.train(ctx, e, "[3/7] ", d.kind(), spec, other, out)
		if err != nil {
			return fmt.Errorf("training the %s model to compare: %w", other.HorizonModel, err)
		}
		r.opt.Compare = []*model.Model{m2}
	}
	if err := stepScore(ctx, e, "[4/7] ", store, m, caresignal.DefaultHorizon, ""); err != nil {
		return err
	}
	if *followUp > 0 {
		// A month passes between runs, as in production: each run the ELT
		// brings the data up to date and the same model scores the patients
		// enrolled then. The last run is today's worklist.
		for k := 1; k <= *followUp; k++ {
			if _, err := stepETL(ctx, e, "[5/7] ", store, trainAsOf.AddDate(0, k, 0)); err != nil {
				return err
			}
			if err := stepScore(ctx, e, "[5/7] ", store, m, caresignal.DefaultHorizon, ""); err != nil {
				return err
			}
		}
	} else {
		fmt.Fprintln(e.stdout, "[5/7] no follow-up window (--follow-up 0): the scores above are today's")
	}
	r.htmlPath, r.jsonPath = filepath.Join(d.dataDir, "report.html"), filepath.Join(d.dataDir, "report.json")
	if _, err := stepReport(ctx, e, "[6/7] ", store, &r); err != nil {
		return err
	}
	if *noServe {
		return nil
	}
	fmt.Fprintf(e.stdout, "[7/7] serving model version %s on %s (monitoring at /monitoring)\n", m.Version, s.addr)
	if s.spillDir == "" {
		s.spillDir = filepath.Join(d.dataDir, "spill")
	}
	return serve(ctx, e, s, m, store)
}
