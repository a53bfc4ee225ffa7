package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/feature"
	"github.com/caresignal/caresignal/internal/web"
	"github.com/caresignal/caresignal/model"
	"github.com/caresignal/caresignal/synth"
)

// synthFlags size and seed a synthetic cohort, starting from the defaults.
func synthFlags(fs *flag.FlagSet, cfg *synth.Config, asOf *dateFlag) {
	*cfg = synth.DefaultConfig()
	asOf.t = cfg.AsOf
	fs.IntVar(&cfg.Patients, "patients", cfg.Patients, "number of patients")
	fs.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "random seed: the same seed and sizes give the same cohort")
	fs.Var(asOf, "as-of", "first day not in the data, YYYY-MM-DD")
	fs.IntVar(&cfg.EnrolmentMonths, "enrolment-months", cfg.EnrolmentMonths, "enrolments spread over this many months before the as-of date")
	fs.Float64Var(&cfg.TransferRate, "transfer-rate", cfg.TransferRate, "monthly probability of a transfer out (random censoring)")
	fs.Float64Var(&cfg.MissingBaseline, "missing-baseline", cfg.MissingBaseline, "share of patients with no baseline score recorded")
}

func runGenerate(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "generate", "", "Fill the source tables (patients, engagement_events, disenrolments) with a deterministic synthetic\ncohort whose drop-off follows a known discrete-time hazard. Replaces what the tables held.")
	var d dataFlags
	d.register(fs, e)
	var cfg synth.Config
	var asOf dateFlag
	synthFlags(fs, &cfg, &asOf)
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg.AsOf = asOf.t
	store, where, err := d.open(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	_, err = stepGenerate(ctx, e, "", store, where, cfg)
	return err
}

func runETL(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "etl", "", "Build the person-period table inside the database from the source tables: one row per patient per\nmonth at risk, with the features known at the start of the month.")
	var d dataFlags
	d.register(fs, e)
	var asOf dateFlag
	fs.Var(&asOf, "as-of", "first day not in the data, YYYY-MM-DD (default: the day after the latest source date)")
	if err := parse(fs, args); err != nil {
		return err
	}
	store, _, err := d.open(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	_, err = stepETL(ctx, e, "", store, asOf.t)
	return err
}

// trainFlags configure a fit.
type trainFlags struct {
	spec    string
	lambda  float64
	holdout float64
	out     string
}

func (t *trainFlags) register(fs *flag.FlagSet, e *env) {
	fs.StringVar(&t.spec, "spec", envDefault(e, "CARESIGNAL_SPEC", ""), "feature spec JSON file (default: the built-in engagement spec) (env CARESIGNAL_SPEC)")
	def := model.DefaultTrainOptions()
	fs.Float64Var(&t.lambda, "lambda", def.Lambda, "L2 penalty strength on the standardised coefficients (0 for none)")
	fs.Float64Var(&t.holdout, "holdout", def.Holdout, "share of patients held out to measure the model (0 for none)")
	fs.StringVar(&t.out, "out", "", "where to save the model (default <data-dir>/"+modelFileName+")")
}

func (t *trainFlags) options() model.TrainOptions {
	return model.TrainOptions{Lambda: t.lambda, Holdout: t.holdout}
}

func (t *trainFlags) loadSpec() (*feature.Spec, error) {
	if t.spec == "" {
		return feature.ParseSpecBytes(caresignal.EngagementSpec)
	}
	b, err := os.ReadFile(t.spec)
	if err != nil {
		return nil, err
	}
	s, err := feature.ParseSpecBytes(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t.spec, err)
	}
	return s, nil
}

func runTrain(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "train", "", "Fit the discrete-time hazard model (L2-penalised logistic regression on person-period rows, by\nNewton's method) on the training extract, evaluate it on held-out patients and save the artifact.")
	var d dataFlags
	d.register(fs, e)
	var t trainFlags
	t.register(fs, e)
	if err := parse(fs, args); err != nil {
		return err
	}
	spec, err := t.loadSpec()
	if err != nil {
		return err
	}
	if t.out == "" {
		t.out = d.modelPath()
	}
	store, _, err := d.open(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	_, err = stepTrain(ctx, e, "", store, d.kind(), spec, t.options(), t.out)
	return err
}

func runExtract(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "extract", "", "Write the training extract that train reads — one row per patient per complete month at risk,\nwith its status, 0/1 event and features — to a CSV file, to fit or check the model elsewhere.\nThe file holds patient ids: treat it as health data.")
	var d dataFlags
	d.register(fs, e)
	out := fs.String("out", "", "CSV file to write (required)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *out == "" {
		fmt.Fprintln(e.stderr, "extract: --out is required")
		fs.Usage()
		return errUsage
	}
	store, _, err := d.open(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	x, err := store.TrainingExtract(ctx)
	if err != nil {
		return err
	}
	if err := writeExtractCSV(*out, x); err != nil {
		return fmt.Errorf("writing %s: %w", *out, err)
	}
	fmt.Fprintf(e.stdout, "wrote %s person-period rows with %d feature columns to %s\n", count(len(x.Rows)), len(x.Columns), *out)
	return nil
}

func runScore(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "score", "", "Score every currently enrolled patient (the prediction extract) with a saved model and write the\nresults to the scores table, replacing an earlier run of the same model and as-of date.")
	var d dataFlags
	d.register(fs, e)
	modelPath := fs.String("model", envDefault(e, "CARESIGNAL_MODEL", ""), "model artifact (default <data-dir>/"+modelFileName+") (env CARESIGNAL_MODEL)")
	horizon := fs.Int("horizon", caresignal.DefaultHorizon, "months to predict")
	csvPath := fs.String("csv", "", "also write the scores, with each patient's hazard curve, to this CSV file")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *modelPath == "" {
		*modelPath = d.modelPath()
	}
	m, err := model.LoadFile(*modelPath)
	if err != nil {
		return err
	}
	store, _, err := d.open(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	return stepScore(ctx, e, "", store, m, *horizon, *csvPath)
}

func runPredict(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "predict", "", "Read one POST /api/engagement request body (one patient, or {\"instances\": [...]}) from stdin or\n--in and print exactly the API's response. Bad input prints the API's JSON error and exits 1.")
	modelPath := fs.String("model", envDefault(e, "CARESIGNAL_MODEL", ""), "model artifact (required) (env CARESIGNAL_MODEL)")
	in := fs.String("in", "", "read the request from this file instead of stdin")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *modelPath == "" {
		fmt.Fprintln(e.stderr, "predict: --model is required")
		fs.Usage()
		return errUsage
	}
	m, err := model.LoadFile(*modelPath)
	if err != nil {
		return err
	}
	var r io.Reader = e.stdin
	if *in != "" {
		f, err := os.Open(*in)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	body, err := io.ReadAll(io.LimitReader(r, web.MaxBodyBytes+1))
	if err != nil {
		return err
	}
	var out any
	var failure error
	if len(body) > web.MaxBodyBytes {
		failure = caresignal.Errorf(caresignal.ETOOLARGE, "request body exceeds %d bytes", web.MaxBodyBytes)
	} else if insts, batch, err := web.DecodeRequest(body); err != nil {
		failure = err
	} else if out, err = web.Score(m, insts, batch); err != nil {
		failure = err
	}
	if failure != nil {
		out, _ = web.NewErrorBody(failure)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	if err := enc.Encode(out); err != nil {
		return err
	}
	if _, err := e.stdout.Write(buf.Bytes()); err != nil {
		return err
	}
	if failure != nil {
		return fmt.Errorf("bad request: %s", caresignal.ErrorMessage(failure))
	}
	return nil
}
