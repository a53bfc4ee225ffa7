// Package sklearnfixture reads the scikit-learn fixtures of
// testdata/sklearn (written by scripts/sklearn/generate.sh) for the tests
// of model/sklearn, model/mlflow and the import command.
package sklearnfixture

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/caresignal/caresignal"
)

// Case is one <dataset>_<kind>.json file.
type Case struct {
	Case           string            `json:"case"`
	Dataset        string            `json:"dataset"`
	Kind           string            `json:"kind"`
	SklearnVersion string            `json:"sklearn_version"`
	PeriodColumn   string            `json:"period_column"`
	InputColumns   []Column          `json:"input_columns"`
	Files          map[string]string `json:"files"`
	HeldoutFile    string            `json:"heldout"`
	Proba          []float64         `json:"proba"`
	Description    string            `json:"description"`
	// Beyond is set for the cases whose period column a categorical
	// encoder reads.
	Beyond *Beyond `json:"beyond"`
}

// Beyond holds a case's rows whose period the encoder was not fitted on,
// and what scikit-learn made of them: probabilities, or for an encoder
// with handle_unknown="error" the error it raised for each row.
type Beyond struct {
	HeldoutFile  string    `json:"heldout"`
	PeriodLevels []int     `json:"period_levels"`
	Proba        []float64 `json:"proba"`
	Refused      []string  `json:"refused"`
}

// Column is an input column and its type, numeric or categorical.
type Column struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// Cases reads every case in dir.
func Cases(dir string) ([]Case, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	var cases []Case
	for _, f := range files {
		if filepath.Base(f) == "manifest.json" {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var c Case
		if err := json.Unmarshal(b, &c); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		if c.Case != "" && len(c.Proba) > 0 && len(c.Files) > 0 {
			cases = append(cases, c)
		}
	}
	if len(cases) == 0 {
		return nil, fmt.Errorf("no fixture cases in %s; run scripts/sklearn/generate.sh", dir)
	}
	return cases, nil
}

// Find reads the case named name in dir.
func Find(dir, name string) (Case, error) {
	cases, err := Cases(dir)
	if err != nil {
		return Case{}, err
	}
	for _, c := range cases {
		if c.Case == name {
			return c, nil
		}
	}
	return Case{}, fmt.Errorf("no fixture case %q in %s", name, dir)
}

// Heldout reads a case's held-out rows: each input column by its type,
// empty cells missing.
func (c Case) Heldout(dir string) ([]map[string]caresignal.Value, error) {
	rows, err := c.read(dir, c.HeldoutFile)
	if err != nil {
		return nil, err
	}
	if len(rows) != len(c.Proba) {
		return nil, fmt.Errorf("%s: %d held-out rows, %d probabilities", c.Case, len(rows), len(c.Proba))
	}
	return rows, nil
}

// BeyondRows reads the rows of c.Beyond as Heldout reads the held-out ones.
func (c Case) BeyondRows(dir string) ([]map[string]caresignal.Value, error) {
	b := c.Beyond
	if b == nil {
		return nil, fmt.Errorf("%s has no rows beyond its periods", c.Case)
	}
	rows, err := c.read(dir, b.HeldoutFile)
	if err != nil {
		return nil, err
	}
	if len(rows) != len(b.Proba)+len(b.Refused) || (len(b.Proba) > 0) == (len(b.Refused) > 0) {
		return nil, fmt.Errorf("%s: %d rows beyond its periods, %d probabilities and %d refusals", c.Case, len(rows), len(b.Proba), len(b.Refused))
	}
	return rows, nil
}

// read reads a held-out file with the case's column types.
func (c Case) read(dir, file string) ([]map[string]caresignal.Value, error) {
	f, err := os.Open(filepath.Join(dir, file))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, err
	}
	if len(recs) < 2 {
		return nil, fmt.Errorf("%s has no rows", file)
	}
	types := map[string]string{}
	for _, ic := range c.InputColumns {
		types[ic.Name] = ic.Type
	}
	var rows []map[string]caresignal.Value
	for _, rec := range recs[1:] {
		row := map[string]caresignal.Value{}
		for j, name := range recs[0] {
			typ, ok := types[name]
			switch {
			case !ok:
			case rec[j] == "":
				row[name] = caresignal.NullValue()
			case typ == "categorical":
				row[name] = caresignal.Str(rec[j])
			default:
				v, err := strconv.ParseFloat(rec[j], 64)
				if err != nil {
					return nil, fmt.Errorf("%s: %s = %q is not a number", file, name, rec[j])
				}
				row[name] = caresignal.Num(v)
			}
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// JSON converts a row to the values a JSON request would carry: numbers,
// strings and null.
func JSON(row map[string]caresignal.Value) map[string]any {
	out := make(map[string]any, len(row))
	for k, v := range row {
		switch v.Kind {
		case caresignal.Number:
			out[k] = v.Num
		case caresignal.String:
			out[k] = v.Str
		default:
			out[k] = nil
		}
	}
	return out
}
