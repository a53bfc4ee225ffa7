// Package sklearn loads scikit-learn models saved with pickle or joblib —
// pipelines of imputers, scalers and one-hot encoders in column
// transformers ending in a logistic regression or a gradient-boosted tree
// ensemble — and predicts with them exactly as scikit-learn does, in Go,
// without Python and without executing the pickle: the file is decoded by
// the restricted decoder of internal/pickle, which builds only the classes
// listed here.
package sklearn

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/internal/pickle"
)

// TestedVersions are the scikit-learn versions whose pickles this package
// is tested against (testdata/sklearn). Others load with a warning, or are
// refused when Options.StrictVersion is set.
var TestedVersions = []string{"1.2.1"}

// classes are the classes a model file may instantiate, by the module path
// scikit-learn pickles them under. They are decoded as inert data.
var classes = map[string]bool{
	"sklearn.pipeline.Pipeline":                             true,
	"sklearn.compose._column_transformer.ColumnTransformer": true,
	"sklearn.preprocessing._data.StandardScaler":            true,
	"sklearn.preprocessing._data.MinMaxScaler":              true,
	"sklearn.preprocessing._encoders.OneHotEncoder":         true,
	"sklearn.preprocessing._encoders.OrdinalEncoder":        true,
	"sklearn.impute._base.SimpleImputer":                    true,
	"sklearn.linear_model._logistic.LogisticRegression":     true,
	"sklearn.ensemble._gb.GradientBoostingClassifier":       true,
	"sklearn.ensemble._gb_losses.BinomialDeviance":          true,
	"sklearn.dummy.DummyClassifier":                         true,
	"sklearn.tree._classes.DecisionTreeRegressor":           true,
	"sklearn.tree._tree.Tree":                               true,
	"sklearn._loss.loss.HalfBinomialLoss":                   true,
	"sklearn._loss.link.LogitLink":                          true,
	"sklearn._loss.link.Interval":                           true,
	"sklearn._loss._loss.CyHalfBinomialLoss":                true,
	// Cython's pickling helper for the loss above: decoded as inert data.
	"sklearn._loss._loss.__pyx_unpickle_CyHalfBinomialLoss": true,
	// The fitted stand-ins scikit-learn 1.2 keeps for "passthrough"
	// columns (func=None); an actual function would be refused as an
	// import.
	"sklearn.preprocessing._function_transformer.FunctionTransformer":                           true,
	"sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier": true,
	"sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor":                          true,
	"sklearn.ensemble._hist_gradient_boosting.binning._BinMapper":                               true,
	"numpy.random._pickle.__randomstate_ctor":                                                   true,
	"numpy.random._pickle.__bit_generator_ctor":                                                 true,
	"numpy.random.mtrand.RandomState":                                                           true,
	"numpy.random._mt19937.MT19937":                                                             true,
}

// Options tune Load.
type Options struct {
	// StrictVersion refuses a model saved by a scikit-learn version not in
	// TestedVersions instead of loading it with a warning.
	StrictVersion bool
}

// Model is a loaded scikit-learn classifier of person-period rows.
type Model struct {
	// Inputs name the input columns in the order the model takes them:
	// feature_names_in_ when it was fitted on a DataFrame, x0, x1, …
	// otherwise.
	Inputs []string
	// Describe names the estimators, e.g. "Pipeline(ColumnTransformer(…),
	// LogisticRegression)".
	Describe string
	// SklearnVersion is the version recorded in the pickle.
	SklearnVersion string
	// Warnings say what loaded but deserves attention (an untested
	// scikit-learn version).
	Warnings []string
	// Levels holds, for each input a one-hot or ordinal encoder reads,
	// the categories it was fitted on: those inputs are categorical.
	Levels map[string][]string
	// Encodings say, for the same inputs, how the encoder reads them:
	// its fitted categories as values and what it does with any other.
	Encodings map[string]Encoding

	clf     classifier
	explain explainParts // how predictions are explained, worked out once
}

// transformer maps one row of inputs to one row of outputs.
type transformer interface {
	transform(in []caresignal.Value) ([]caresignal.Value, error)
}

// classifier returns P(class 1) for one row.
type classifier interface {
	proba(in []caresignal.Value) (float64, error)
}

// Load reads a pickle or joblib file (plain or zlib-compressed).
func Load(r io.Reader, opt Options) (*Model, error) {
	v, err := pickle.Read(r, pickle.Options{Classes: classes})
	if err != nil {
		var ref *pickle.RefusedError
		if errors.As(err, &ref) {
			return nil, caresignal.Errorf(caresignal.EINVALID, "%s: only scikit-learn pipelines of %s are loaded", err.Error(), supported())
		}
		return nil, caresignal.Errorf(caresignal.EINVALID, "%v", err)
	}
	return FromValue(v, opt)
}

// FromValue builds a model from a decoded pickle.
func FromValue(v any, opt Options) (*Model, error) {
	o, ok := v.(*pickle.Object)
	if !ok {
		return nil, caresignal.Errorf(caresignal.EINVALID, "the pickle holds a %s, not a scikit-learn estimator", pickle.TypeName(v))
	}
	if err := checkGraph(v, 0, map[any]int{}); err != nil {
		return nil, caresignal.Errorf(caresignal.EINVALID, "%v", err)
	}
	m := &Model{}
	m.SklearnVersion = version(o)
	if m.SklearnVersion == "" {
		return nil, caresignal.Errorf(caresignal.EINVALID, "the pickle records no scikit-learn version (_sklearn_version)")
	}
	if !slices.Contains(TestedVersions, m.SklearnVersion) {
		msg := fmt.Sprintf("saved by scikit-learn %s; this build is tested against %s", m.SklearnVersion, strings.Join(TestedVersions, ", "))
		if opt.StrictVersion {
			return nil, caresignal.Errorf(caresignal.EINVALID, "refused: %s", msg)
		}
		m.Warnings = append(m.Warnings, msg+": predictions may differ")
	}
	est, err := build(o)
	if err != nil {
		return nil, caresignal.Errorf(caresignal.EINVALID, "%v", err)
	}
	clf, ok := est.(classifier)
	if !ok {
		return nil, caresignal.Errorf(caresignal.EINVALID, "%s is not a classifier: the model must end in one", shortName(o))
	}
	m.clf = clf
	m.Describe = describe(o)
	m.Inputs, err = inputNames(o)
	if err != nil {
		return nil, caresignal.Errorf(caresignal.EINVALID, "%v", err)
	}
	m.Encodings = map[string]Encoding{}
	encodedInputs(o, m.Inputs, m.Encodings)
	m.Levels = make(map[string][]string, len(m.Encodings))
	for name, e := range m.Encodings {
		m.Levels[name] = e.levelNames()
	}
	m.explain = m.explainParts()
	return m, nil
}

// maxDepth bounds the nesting of a model's objects: scikit-learn pipelines
// nest a few levels; a deeper graph is not a model.
const maxDepth = 64

// checkGraph walks the decoded objects once, refusing a graph nested
// deeper than maxDepth or one that contains itself, so that building the
// model afterwards cannot recurse without end. Shared objects (the memo
// reuses them) are walked once.
func checkGraph(v any, depth int, state map[any]int) error {
	var key any
	switch v.(type) {
	case *pickle.Object, *pickle.List, *pickle.Dict, *pickle.Set, *pickle.Array:
		key = v
	case pickle.Tuple:
	default:
		return nil
	}
	if depth > maxDepth {
		return fmt.Errorf("the pickle nests objects more than %d deep: not a scikit-learn model", maxDepth)
	}
	if key != nil {
		switch state[key] {
		case 1:
			return errors.New("the pickle's objects contain themselves: not a scikit-learn model")
		case 2:
			return nil
		}
		state[key] = 1
		defer func() { state[key] = 2 }()
	}
	var children []any
	switch x := v.(type) {
	case *pickle.Object:
		children = append(append(children, []any(x.Args)...), x.State)
		if x.Kwargs != nil {
			children = append(children, x.Kwargs)
		}
	case *pickle.List:
		children = x.Items
	case *pickle.Set:
		children = x.Items
	case *pickle.Dict:
		children = append(append(children, x.Keys...), x.Values...)
	case *pickle.Array:
		children = x.Objects
	case pickle.Tuple:
		children = x
	}
	for _, c := range children {
		if err := checkGraph(c, depth+1, state); err != nil {
			return err
		}
	}
	return nil
}

// PredictProba returns P(class 1) for one row of inputs in Inputs order.
func (m *Model) PredictProba(row []caresignal.Value) (float64, error) {
	if len(row) != len(m.Inputs) {
		return 0, fmt.Errorf("%d inputs for a model of %d", len(row), len(m.Inputs))
	}
	return m.clf.proba(row)
}

func supported() string {
	return "StandardScaler, MinMaxScaler, SimpleImputer, OneHotEncoder, ColumnTransformer, LogisticRegression, GradientBoostingClassifier and HistGradientBoostingClassifier"
}

// version finds the _sklearn_version of an estimator.
func version(o *pickle.Object) string {
	s, _ := attr(o, "_sklearn_version").(string)
	return s
}

func shortName(o *pickle.Object) string { return o.Class.Name }

// build turns a decoded estimator into a transformer or classifier.
func build(o *pickle.Object) (any, error) {
	switch o.Class.Name {
	case "Pipeline":
		return newPipeline(o)
	case "ColumnTransformer":
		return newColumnTransformer(o)
	case "StandardScaler":
		return newStandardScaler(o)
	case "MinMaxScaler":
		return newMinMaxScaler(o)
	case "SimpleImputer":
		return newSimpleImputer(o)
	case "OneHotEncoder":
		return newOneHotEncoder(o)
	case "OrdinalEncoder":
		return newOrdinalEncoder(o)
	case "LogisticRegression":
		return newLogisticRegression(o)
	case "GradientBoostingClassifier":
		return newGradientBoosting(o)
	case "HistGradientBoostingClassifier":
		return newHistGradientBoosting(o)
	}
	return nil, fmt.Errorf("%s is not supported as a pipeline step (supported: %s)", o.Class, supported())
}

// encodedInputs records, for each input a categorical encoder reads
// directly (or after imputers), how it encodes it: the first step of a
// pipeline, or a column transformer's parts.
func encodedInputs(o *pickle.Object, inputs []string, levels map[string]Encoding) {
	switch o.Class.Name {
	case "Pipeline":
		l, _ := attr(o, "steps").(*pickle.List)
		if l == nil {
			return
		}
		for _, s := range l.Items {
			t, ok := s.(pickle.Tuple)
			if !ok || len(t) != 2 {
				return
			}
			e, ok := t[1].(*pickle.Object)
			if !ok {
				continue
			}
			if e.Class.Name == "SimpleImputer" {
				continue // passes its columns on unchanged in number
			}
			encodedInputs(e, inputs, levels)
			return
		}
	case "ColumnTransformer":
		l, _ := attr(o, "transformers_").(*pickle.List)
		if l == nil {
			return
		}
		for _, item := range l.Items {
			t, ok := item.(pickle.Tuple)
			if !ok || len(t) != 3 {
				continue
			}
			e, ok := t[1].(*pickle.Object)
			if !ok {
				continue
			}
			cols, err := columnIndices(t[2], inputs, len(inputs))
			if err != nil {
				continue
			}
			sub := make([]string, len(cols))
			for i, c := range cols {
				sub[i] = inputs[c]
			}
			encodedInputs(e, sub, levels)
		}
	case "OneHotEncoder", "OrdinalEncoder":
		cats, err := categories(o)
		if err != nil || len(cats) != len(inputs) {
			return
		}
		for j, c := range cats {
			levels[inputs[j]] = newEncoding(o, j, c)
		}
	}
}

// describe names the estimator tree.
func describe(o *pickle.Object) string {
	switch o.Class.Name {
	case "Pipeline":
		var parts []string
		if l, ok := attr(o, "steps").(*pickle.List); ok {
			for _, s := range l.Items {
				if t, ok := s.(pickle.Tuple); ok && len(t) == 2 {
					if e, ok := t[1].(*pickle.Object); ok {
						parts = append(parts, describe(e))
					}
				}
			}
		}
		return "Pipeline(" + strings.Join(parts, ", ") + ")"
	case "ColumnTransformer":
		var parts []string
		if l, ok := attr(o, "transformers_").(*pickle.List); ok {
			for _, s := range l.Items {
				if t, ok := s.(pickle.Tuple); ok && len(t) == 3 {
					switch e := t[1].(type) {
					case *pickle.Object:
						parts = append(parts, describe(e))
					case string:
						if e == "passthrough" {
							parts = append(parts, "passthrough")
						}
					}
				}
			}
		}
		return "ColumnTransformer(" + strings.Join(parts, ", ") + ")"
	}
	return o.Class.Name
}

// maxInputs bounds a model's input columns.
const maxInputs = 100_000

// inputNames are the estimator's input columns.
func inputNames(o *pickle.Object) ([]string, error) {
	if a, ok := attr(o, "feature_names_in_").(*pickle.Array); ok {
		return a.Strings()
	}
	n, ok := attr(o, "n_features_in_").(int64)
	if ok && (n < 1 || n > maxInputs) {
		return nil, fmt.Errorf("%s.n_features_in_ is %d: want 1 to %d inputs", o.Class.Name, n, maxInputs)
	}
	if !ok {
		// A Pipeline takes its first step's inputs.
		if o.Class.Name == "Pipeline" {
			if l, ok := attr(o, "steps").(*pickle.List); ok && len(l.Items) > 0 {
				if t, ok := l.Items[0].(pickle.Tuple); ok && len(t) == 2 {
					if e, ok := t[1].(*pickle.Object); ok {
						return inputNames(e)
					}
				}
			}
		}
		return nil, fmt.Errorf("%s records neither feature_names_in_ nor n_features_in_", o.Class.Name)
	}
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("x%d", i)
	}
	return names, nil
}
