package sklearn

import (
	"fmt"

	"github.com/caresignal/caresignal"
)

// Explanations of linear pipelines. Every transformer this package reads
// maps each output column from exactly one input column (a scaler, an
// imputer and the ordinal encoder column by column, a one-hot encoder an
// input to its levels' columns, a column transformer by selection), so a
// logistic regression's log-odds, intercept aside, is a sum of
// coef_j·x_j over encoded columns j that groups exactly by input column.

// origins is implemented by transformers: given the input column each of
// their inputs comes from, it returns the input column each of their
// outputs comes from.
type origins interface {
	origins(in []int) ([]int, error)
}

func (p *pipeline) origins(in []int) ([]int, error) {
	var err error
	for _, s := range p.steps {
		o, ok := s.(origins)
		if !ok {
			return nil, fmt.Errorf("%T does not say which inputs its columns come from", s)
		}
		if in, err = o.origins(in); err != nil {
			return nil, err
		}
	}
	return in, nil
}

func (ct *columnTransformer) origins(in []int) ([]int, error) {
	var out []int
	for _, p := range ct.parts {
		sel := make([]int, len(p.cols))
		for i, c := range p.cols {
			if c >= len(in) {
				return nil, fmt.Errorf("ColumnTransformer selects column %d of %d", c, len(in))
			}
			sel[i] = in[c]
		}
		if p.t == nil {
			out = append(out, sel...)
			continue
		}
		o, ok := p.t.(origins)
		if !ok {
			return nil, fmt.Errorf("%T does not say which inputs its columns come from", p.t)
		}
		y, err := o.origins(sel)
		if err != nil {
			return nil, err
		}
		out = append(out, y...)
	}
	return out, nil
}

func (s *standardScaler) origins(in []int) ([]int, error) { return in, nil }
func (s *minMaxScaler) origins(in []int) ([]int, error)   { return in, nil }
func (e *ordinalEncoder) origins(in []int) ([]int, error) { return in, nil }

func (s *simpleImputer) origins(in []int) ([]int, error) {
	if len(in) != len(s.keep) {
		return nil, fmt.Errorf("SimpleImputer was fitted on %d columns, got %d", len(s.keep), len(in))
	}
	var out []int
	for j, o := range in {
		if s.keep[j] {
			out = append(out, o)
		}
	}
	return out, nil
}

func (e *oneHotEncoder) origins(in []int) ([]int, error) {
	if len(in) != len(e.cats) {
		return nil, fmt.Errorf("OneHotEncoder was fitted on %d columns, got %d", len(e.cats), len(in))
	}
	var out []int
	for j, o := range in {
		for c := range e.cats[j] {
			if c != e.drop[j] {
				out = append(out, o)
			}
		}
	}
	return out, nil
}

// explainParts is what explaining a model's predictions needs, worked
// out once when it loads: its logistic regression or its trees, and the
// input each column they take comes from.
type explainParts struct {
	lr        *logisticRegression // nil: not linear (linearErr says why)
	linearErr error
	ts        treeSHAP // nil: no trees TreeSHAP can read (treeErr says why)
	treeErr   error
	orig      []int
}

func (m *Model) explainParts() explainParts {
	var e explainParts
	if e.lr, e.orig, e.linearErr = m.linearParts(); e.linearErr == nil {
		e.treeErr = fmt.Errorf("a logistic regression, not a tree ensemble")
		return e
	}
	e.ts, e.orig, e.treeErr = m.treeParts()
	return e
}

// Linear reports whether the model is a logistic regression, alone or at
// the end of a pipeline of transformers that map each column from one
// input, so that LogOddsByInput explains it exactly.
func (m *Model) Linear() bool { return m.explain.lr != nil }

// columnOrigins maps each column the classifier takes to the input it is
// made from: the inputs themselves when there is no pipeline (p nil), else
// as p's transformers make them.
func (m *Model) columnOrigins(p *pipeline) ([]int, error) {
	ident := make([]int, len(m.Inputs))
	for i := range ident {
		ident[i] = i
	}
	if p == nil {
		return ident, nil
	}
	return p.origins(ident)
}

func (m *Model) linearParts() (*logisticRegression, []int, error) {
	switch c := m.clf.(type) {
	case *logisticRegression:
		o, err := m.columnOrigins(nil)
		return c, o, err
	case *pipeline:
		lr, ok := c.final.(*logisticRegression)
		if !ok {
			return nil, nil, fmt.Errorf("the pipeline ends in %T, not a logistic regression", c.final)
		}
		o, err := m.columnOrigins(c)
		if err != nil {
			return nil, nil, err
		}
		if len(o) != len(lr.coef) {
			return nil, nil, fmt.Errorf("the pipeline makes %d columns, the logistic regression takes %d", len(o), len(lr.coef))
		}
		return lr, o, nil
	}
	return nil, nil, fmt.Errorf("%T is not a logistic regression", m.clf)
}

// LogOddsByInput splits a linear model's log-odds for row (in Inputs
// order) into the intercept and one term per input: the sum over the
// encoded columns an input makes of coefficient × encoded value. The terms
// and the intercept add up to the log-odds exactly (to rounding). Each
// term is measured from the encoded row's zero: the training mean of a
// standardised column, the dropped or no level of a one-hot encoded one,
// zero of a column used as given.
func (m *Model) LogOddsByInput(row []caresignal.Value) (terms []float64, intercept float64, err error) {
	lr, orig := m.explain.lr, m.explain.orig
	if lr == nil {
		return nil, 0, m.explain.linearErr
	}
	x, err := m.encoded(row)
	if err != nil {
		return nil, 0, err
	}
	terms = make([]float64, len(m.Inputs))
	for j, v := range x {
		f, err := num(v)
		if err != nil {
			return nil, 0, fmt.Errorf("LogisticRegression input %d: %w", j, err)
		}
		terms[orig[j]] += lr.coef[j] * f
	}
	return terms, lr.intercept, nil
}

// Explainable reports whether ExplainByInput explains the model: a linear
// one (see Linear), or a gradient-boosting or histogram gradient-boosting
// ensemble, alone or after transformers that map each column from one
// input, whose trees carry their training weights.
func (m *Model) Explainable() bool { return m.explain.lr != nil || m.explain.ts != nil }

// Trees reports whether the model's classifier is a tree ensemble.
func (m *Model) Trees() bool {
	c := m.clf
	if p, ok := c.(*pipeline); ok {
		c = p.final
	}
	_, ok := c.(treeSHAP)
	return ok
}

func (m *Model) treeParts() (treeSHAP, []int, error) {
	c := m.clf
	p, _ := c.(*pipeline)
	orig, err := m.columnOrigins(p)
	if err != nil {
		return nil, nil, err
	}
	if p != nil {
		c = p.final
	}
	ts, ok := c.(treeSHAP)
	if !ok {
		return nil, nil, fmt.Errorf("%T is not a tree ensemble", c)
	}
	if err := ts.shapReady(); err != nil {
		return nil, nil, err
	}
	if w := ts.columns(); w > 0 && w != len(orig) {
		return nil, nil, fmt.Errorf("the pipeline makes %d columns, the trees take %d", len(orig), w)
	}
	return ts, orig, nil
}

// ExplainByInput splits the log-odds of P(class 1) for row (in Inputs
// order) into a base and one term per input that add up to it. For a
// linear model they are LogOddsByInput's terms and intercept. For a tree
// ensemble they are the exact path-dependent TreeSHAP values of the
// columns the trees take (see treeshap.go), each input's term the sum of
// those of the columns made from it, and the base is the log-odds
// expected under the trees' training weights.
func (m *Model) ExplainByInput(row []caresignal.Value) (terms []float64, base float64, err error) {
	if m.Linear() {
		return m.LogOddsByInput(row)
	}
	ts, orig := m.explain.ts, m.explain.orig
	if ts == nil {
		return nil, 0, m.explain.treeErr
	}
	x, err := m.encoded(row)
	if err != nil {
		return nil, 0, err
	}
	if len(x) != len(orig) {
		return nil, 0, fmt.Errorf("the pipeline made %d columns, %d expected", len(x), len(orig))
	}
	phi, base, err := ts.shap(x)
	if err != nil {
		return nil, 0, err
	}
	terms = make([]float64, len(m.Inputs))
	for j, v := range phi {
		terms[orig[j]] += v
	}
	return terms, base, nil
}

// encoded is row (in Inputs order) as the classifier receives it: through
// the pipeline's transformers, if any.
func (m *Model) encoded(row []caresignal.Value) ([]caresignal.Value, error) {
	if len(row) != len(m.Inputs) {
		return nil, fmt.Errorf("%d inputs for a model of %d", len(row), len(m.Inputs))
	}
	if p, ok := m.clf.(*pipeline); ok {
		return p.transform(row)
	}
	return row, nil
}
