package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/internal/pickle"
	"github.com/caresignal/caresignal/model"
	"github.com/caresignal/caresignal/model/mlflow"
	"github.com/caresignal/caresignal/model/sklearn"
)

func runImport(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "import", "PATH", `Convert a scikit-learn classifier of person-period rows — a pickle, a joblib file (plain or
zlib-compressed) or an MLflow model directory of the sklearn flavor — into a caresignal model
artifact that serve, score and predict use like a native one. The file is decoded without
running it: only scikit-learn pipelines of StandardScaler, MinMaxScaler, SimpleImputer,
OneHotEncoder, OrdinalEncoder and ColumnTransformer ending in LogisticRegression,
GradientBoostingClassifier or HistGradientBoostingClassifier are built, and anything else in the
file is refused, naming it. --period-column names the input holding the month of enrolment: the
scoring layer sets it to each future month to build the hazard and survival curves.

Example:
  caresignal import --from joblib --period-column month model.joblib --out engagement.model.json`)
	from := fs.String("from", "", "sklearn-pickle, joblib or mlflow (required)")
	period := fs.String("period-column", "", "the input holding the month of enrolment, 1 for the first (required)")
	name := fs.String("name", "", "the model's name, used in the API (default: the file or directory name)")
	out := fs.String("out", "", "where to write the caresignal model (required)")
	strict := fs.Bool("strict-version", false, "refuse files saved by a scikit-learn version this build is not tested against, instead of warning")
	paths, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(paths) != 1 || *from == "" || *period == "" || *out == "" {
		fmt.Fprintln(e.stderr, "import: give one PATH, --from, --period-column and --out")
		fs.Usage()
		return errUsage
	}
	path := paths[0]
	src := model.ImportSource{Format: *from, PeriodColumn: *period, Name: *name,
		Options: sklearn.Options{StrictVersion: *strict}}
	if src.Name == "" {
		src.Name = strings.TrimSuffix(strings.TrimSuffix(filepath.Base(filepath.Clean(path)), ".mlflow"), filepath.Ext(path))
	}
	var warnings []string
	switch *from {
	case model.FromMLflow:
		mm, err := mlflow.LoadDir(path, src.Options)
		if err != nil {
			return err
		}
		mlmodel, err := os.ReadFile(filepath.Join(path, "MLmodel"))
		if err != nil {
			return err
		}
		src.MLmodel, src.Signature, src.FileName = string(mlmodel), mm.Inputs, mm.PickledModel
		if src.File, err = readFileLimited(filepath.Join(path, mm.PickledModel)); err != nil {
			return err
		}
		warnings = append(warnings, mm.Warnings...)
	case model.FromPickle, model.FromJoblib:
		var err error
		if src.File, err = readFileLimited(path); err != nil {
			return err
		}
		src.FileName = filepath.Base(path)
	default:
		return caresignal.Invalidf("from", "--from %q: want sklearn-pickle, joblib or mlflow", *from)
	}
	m, err := model.Import(src)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	for _, w := range append(warnings, m.Imported.Warnings()...) {
		fmt.Fprintln(e.stderr, "warning:", w)
	}
	if err := m.SaveFile(*out); err != nil {
		return fmt.Errorf("saving the model: %w", err)
	}
	im := m.Imported
	var inputs []string
	for _, in := range im.Inputs {
		kind := "numeric"
		if in.Categorical {
			kind = fmt.Sprintf("categorical, %d levels", len(in.Levels))
		}
		inputs = append(inputs, fmt.Sprintf("%s (%s)", in.Name, kind))
	}
	fmt.Fprintf(e.stdout, "imported %s (scikit-learn %s, %s) as model %q version %s\n", im.Describe, im.SklearnVersion, *from, m.Name, m.Version)
	fmt.Fprintf(e.stdout, "      period column: %s; inputs: %s\n", im.PeriodColumn, strings.Join(inputs, ", "))
	fmt.Fprintf(e.stdout, "saved to %s; serve it with caresignal serve --model %s\n", *out, *out)
	return nil
}

// readFileLimited reads a model file of at most pickle.MaxBytes, the most
// the decoder accepts.
func readFileLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, pickle.MaxBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > pickle.MaxBytes {
		return nil, caresignal.Errorf(caresignal.EINVALID, "%s is larger than %d MiB", path, pickle.MaxBytes>>20)
	}
	return b, nil
}
