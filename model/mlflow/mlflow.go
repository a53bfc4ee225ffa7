// Package mlflow loads MLflow model directories of the sklearn flavor: the
// MLmodel file, the pickled model it names (decoded by model/sklearn's
// restricted loader, never executed) and the model signature, whose input
// schema is enforced on every row scored.
package mlflow

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/model/sklearn"
)

// MaxMLmodelBytes bounds the MLmodel file.
const MaxMLmodelBytes = 1 << 20

// Model is a loaded MLflow sklearn model.
type Model struct {
	Sklearn *sklearn.Model
	// Inputs is the signature's input schema; nil when the model was saved
	// without a signature.
	Inputs        []Column
	MLflowVersion string
	ModelUUID     string
	// SerializationFormat is the sklearn flavor's: "pickle" or
	// "cloudpickle" (both decode with the same restricted decoder).
	SerializationFormat string
	// PickledModel is the model file, relative to the directory.
	PickledModel string
	Warnings     []string
}

// Column is one column of a signature's input schema.
type Column struct {
	Name     string `json:"name"`
	Type     string `json:"type"` // double, float, long, integer, string, boolean
	Required bool   `json:"required"`
}

// mlmodel is the part of the MLmodel file read here.
type mlmodel struct {
	MLflowVersion string `yaml:"mlflow_version"`
	ModelUUID     string `yaml:"model_uuid"`
	Flavors       struct {
		PythonFunction *struct {
			LoaderModule string `yaml:"loader_module"`
			ModelPath    string `yaml:"model_path"`
		} `yaml:"python_function"`
		Sklearn *struct {
			PickledModel        string `yaml:"pickled_model"`
			SerializationFormat string `yaml:"serialization_format"`
			SklearnVersion      string `yaml:"sklearn_version"`
		} `yaml:"sklearn"`
	} `yaml:"flavors"`
	Signature *struct {
		Inputs string `yaml:"inputs"`
	} `yaml:"signature"`
}

// LoadDir loads the MLflow model directory dir.
func LoadDir(dir string, opt sklearn.Options) (*Model, error) {
	fail := func(format string, args ...any) error {
		return caresignal.Errorf(caresignal.EINVALID, "MLflow model %s: %s", dir, fmt.Sprintf(format, args...))
	}
	b, err := readLimited(filepath.Join(dir, "MLmodel"), MaxMLmodelBytes)
	if err != nil {
		return nil, fail("%v", err)
	}
	var mm mlmodel
	if err := yaml.Unmarshal(b, &mm); err != nil {
		return nil, fail("MLmodel is not valid YAML: %v", err)
	}
	sk := mm.Flavors.Sklearn
	if sk == nil {
		return nil, fail("MLmodel has no sklearn flavor; only scikit-learn models are loaded")
	}
	if pf := mm.Flavors.PythonFunction; pf != nil && pf.LoaderModule != "mlflow.sklearn" {
		return nil, fail("python_function loader_module is %q, want mlflow.sklearn", pf.LoaderModule)
	}
	switch sk.SerializationFormat {
	case "pickle", "cloudpickle", "":
	default:
		return nil, fail("sklearn serialization_format %q is not supported (pickle or cloudpickle)", sk.SerializationFormat)
	}
	m := &Model{MLflowVersion: mm.MLflowVersion, ModelUUID: mm.ModelUUID, SerializationFormat: sk.SerializationFormat,
		PickledModel: sk.PickledModel}
	path, err := inside(dir, sk.PickledModel)
	if err != nil {
		return nil, fail("%v", err)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fail("%v", err)
	}
	defer f.Close()
	if m.Sklearn, err = sklearn.Load(f, opt); err != nil {
		return nil, fail("%s: %v", sk.PickledModel, caresignal.ErrorMessage(err))
	}
	if sk.SklearnVersion != "" && sk.SklearnVersion != m.Sklearn.SklearnVersion {
		m.Warnings = append(m.Warnings, fmt.Sprintf("MLmodel says scikit-learn %s, the pickle %s", sk.SklearnVersion, m.Sklearn.SklearnVersion))
	}
	m.Warnings = append(m.Warnings, m.Sklearn.Warnings...)
	if mm.Signature != nil && mm.Signature.Inputs != "" {
		if m.Inputs, err = parseSchema(mm.Signature.Inputs); err != nil {
			return nil, fail("signature inputs: %v", err)
		}
		if err := m.checkSchema(); err != nil {
			return nil, fail("%v", err)
		}
	}
	return m, nil
}

// inside resolves a path from the MLmodel file, refusing one that leaves
// the model directory.
func inside(dir, rel string) (string, error) {
	if rel == "" {
		return "", errors.New("the sklearn flavor names no pickled_model")
	}
	if filepath.IsAbs(rel) || !filepath.IsLocal(rel) {
		return "", fmt.Errorf("pickled_model %q is outside the model directory", rel)
	}
	return filepath.Join(dir, rel), nil
}

func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", filepath.Base(path), limit)
	}
	b := make([]byte, st.Size())
	_, err = io.ReadFull(f, b)
	return b, err
}

// parseSchema reads a column-based schema (MLflow's JSON string of
// [{"name", "type", "required"}]). Tensor-based schemas are refused.
func parseSchema(s string) ([]Column, error) {
	var raw []map[string]any
	if err := json.Unmarshal([]byte(s), &raw); err != nil {
		return nil, fmt.Errorf("not a JSON list: %v", err)
	}
	cols := make([]Column, 0, len(raw))
	for i, r := range raw {
		if r["type"] == "tensor" {
			return nil, errors.New("tensor-based signatures are not supported; save the model with a column-based (DataFrame) signature")
		}
		c := Column{Required: true}
		c.Name, _ = r["name"].(string)
		c.Type, _ = r["type"].(string)
		if req, ok := r["required"].(bool); ok {
			c.Required = req
		}
		if c.Name == "" {
			return nil, fmt.Errorf("column %d has no name", i)
		}
		switch c.Type {
		case "double", "float", "long", "integer", "string", "boolean":
		default:
			return nil, fmt.Errorf("column %q has type %q, not one of double, float, long, integer, string, boolean", c.Name, c.Type)
		}
		cols = append(cols, c)
	}
	return cols, nil
}

// checkSchema verifies that the schema names the model's inputs.
func (m *Model) checkSchema() error {
	names := map[string]bool{}
	for _, c := range m.Inputs {
		names[c.Name] = true
	}
	var absent []string
	for _, in := range m.Sklearn.Inputs {
		if !names[in] {
			absent = append(absent, in)
		}
	}
	if len(absent) > 0 {
		return fmt.Errorf("the signature lacks the model's inputs %s", strings.Join(absent, ", "))
	}
	return nil
}

// Row orders a named row as the model takes it, enforcing the signature
// (see Enforce).
func (m *Model) Row(values map[string]caresignal.Value) ([]caresignal.Value, error) {
	if err := Enforce(m.Inputs, values); err != nil {
		return nil, err
	}
	row := make([]caresignal.Value, len(m.Sklearn.Inputs))
	for i, name := range m.Sklearn.Inputs {
		v, ok := values[name]
		if !ok {
			v = caresignal.NullValue()
		}
		row[i] = v
	}
	return row, nil
}

// Enforce checks a named row against a signature: every required column
// present, numbers for numeric types (whole numbers for long and integer),
// strings for string. Columns outside the schema are not checked, as
// MLflow's own scoring server ignores them.
func Enforce(schema []Column, values map[string]caresignal.Value) error {
	for _, c := range schema {
		v, ok := values[c.Name]
		if !ok || v.Kind == caresignal.Null {
			if c.Required && !ok {
				return caresignal.Invalidf(c.Name, "%s is required by the model signature", c.Name)
			}
			continue
		}
		if err := c.check(v); err != nil {
			return err
		}
	}
	return nil
}

func (c Column) check(v caresignal.Value) error {
	switch c.Type {
	case "double", "float":
		if v.Kind != caresignal.Number {
			return caresignal.Invalidf(c.Name, "%s must be a number (signature type %s)", c.Name, c.Type)
		}
	case "long", "integer":
		if v.Kind != caresignal.Number || v.Num != math.Trunc(v.Num) || math.IsInf(v.Num, 0) {
			return caresignal.Invalidf(c.Name, "%s must be a whole number (signature type %s)", c.Name, c.Type)
		}
	case "string":
		if v.Kind != caresignal.String {
			return caresignal.Invalidf(c.Name, "%s must be a string (signature type string)", c.Name)
		}
	case "boolean":
		if v.Kind != caresignal.Number || (v.Num != 0 && v.Num != 1) {
			return caresignal.Invalidf(c.Name, "%s must be true or false (signature type boolean)", c.Name)
		}
	}
	return nil
}
