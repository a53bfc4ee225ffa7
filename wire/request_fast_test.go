package wire

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/internal/modeltest"
)

// checkFastAgrees fails when fastDecode accepts a body that the slow
// decoder refuses or reads differently.
func checkFastAgrees(t *testing.T, body []byte, names *Known) (accepted bool) {
	t.Helper()
	got, ok := fastDecode(body, names)
	if !ok {
		return false
	}
	want, err := slowDecode(body)
	if err != nil {
		t.Fatalf("fast path accepted %q, slow path refuses: %v", body, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%q: fast path read\n%+v\nslow path\n%+v", body, got, want)
	}
	return true
}

func testNames() *Known {
	return NewKnown([]caresignal.Input{{Name: "age"}, {Name: "sex", Categorical: true, Levels: []string{"F"}}, {Name: "program", Categorical: true, Levels: []string{"diabetes"}}})
}

func TestFastDecodeAcceptsWellFormed(t *testing.T) {
	for _, body := range []string{
		modeltest.Single,
		modeltest.Batch(100),
		`{"features": ` + modeltest.Features + `}`,
		" \n{\"patient_id\": null, \"features\": {}, \"months_enrolled\": null, \"horizon\": null}\t",
		`{"horizon": 3, "features": {"age": -0, "x": 1.5e2, "y": -12345678901234567890, "s": "Zürich", "n": null}, "months_enrolled": 1e1}`,
		`{"instances": [{"features": {"a": 1}}, {"patient_id": "p", "features": {"a": "b"}, "horizon": 1}]}`,
		`{"outputs": ["hazard", "survival", "expected_months"], "instances": [{"features": {"a": 1}}]}`,
		`{"features": {"a": 1}, "outputs": [ "median_months" ,"explanation"] }`,
		`{"features": {"a": 1}, "days_elapsed": 17, "months_enrolled": 2}`,
		`{"instances": [{"features": {"a": 1}, "days_elapsed": 0}, {"features": {"a": 1}, "days_elapsed": null}, {"features": {"a": 1}, "days_elapsed": 29}]}`,
	} {
		if !checkFastAgrees(t, []byte(body), testNames()) {
			t.Errorf("fast path refused a well-formed request: %s", body)
		}
	}
	req, _ := fastDecode([]byte(`{"features": {"age": -0}}`), nil)
	if x := req.Instances[0].Features["age"].Num; x != 0 || !signbit(x) {
		t.Errorf("-0 read as %v", x)
	}
}

func signbit(x float64) bool { return 1/x < 0 }

// Every hostile or malformed body on file either is refused by the fast
// path or read exactly as the slow path reads it.
func TestFastDecodeOnHostileInputs(t *testing.T) {
	files, _ := filepath.Glob("../internal/web/testdata/hostile/*")
	if len(files) == 0 {
		t.Fatal("no hostile inputs found")
	}
	for _, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		checkFastAgrees(t, body, testNames())
	}
	for _, body := range []string{
		`{}`, `[]`, `{"features": {"a": 1}} x`, `{"features": {"a": 01}}`, `{"features": {"a": 1.}}`,
		`{"features": {"a": 1e}}`, `{"features": {"a": 1e400}}`, `{"features": {"a": true}}`,
		`{"features": {"a": [1]}}`, `{"features": {"a": 1, "a": 2}}`, `{"features": {"": 1}}`,
		`{"features": {"a\u0062": 1}}`, `{"features": {"a": "\u00e9"}}`, "{\"features\": {\"a\": \"\xff\"}}",
		`{"features": {"a": 1}, "features": {"a": 1}}`, `{"features": {"a": 1}, "horizon": 1.5}`,
		`{"features": {"a": 1}, "horizon": 0}`, `{"features": {"a": 1}, "months_enrolled": -1}`,
		`{"features": {"a": 1}, "days_elapsed": 30}`, `{"features": {"a": 1}, "days_elapsed": 1.5}`, `{"features": {"a": 1}, "days_elapsed": 1, "days_elapsed": 2}`,
		`{"features": {"a": 1}, "patient_id": 7}`, `{"features": {"a": 1}, "other": 1}`,
		`{"features": {"a": 1}, "instances": [{"features": {}}]}`, `{"instances": [{"features": {}}], "horizon": 2}`,
		`{"instances": []}`, `{"instances": null}`, `{"instances": [{"features": {}},]}`, `{"instances": [{}]}`,
		`{"instances": [{"features": {}}], "instances": [{"features": {}}]}`, `{"features": {"a": 1},}`,
		`{"features": {"a": 1}`, `{"features": null}`, `{"features": {"a": -}}`, `{"features": {"a": nul}}`,
		"{\"features\": {\"a\": \"b\x7f\"}}", "{\"features\": {\"a\x7f\": 1}}", "{\"features\": {\"a\": \"\u0085\"}}",
		"{\"features\": {\"a\": \"\u009f\"}}", "{\"patient_id\": \"\u0080\", \"features\": {}}", "{\"features\": {\"a\": \"\xc2\"}}", "{\"features\": {\"a\": \"b\x80\"}}", "{\"features\": {\"a\": \"\xbf\xbf\"}}",
		`{"features": {"a": "` + strings.Repeat("x", MaxStringBytes+1) + `"}}`,
		`{"features": {"` + strings.Repeat("x", MaxStringBytes+1) + `": 1}}`,
	} {
		if checkFastAgrees(t, []byte(body), testNames()) {
			t.Errorf("fast path accepted %s", body)
		}
	}
}

// The fast path refuses the batch past MaxInstances (the slow path names it).
func TestFastDecodeBatchLimit(t *testing.T) {
	var b bytes.Buffer
	b.WriteString(`{"instances": [`)
	for i := range caresignal.MaxInstances + 1 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"features": {"a": 1}}`)
	}
	b.WriteString(`]}`)
	if _, ok := fastDecode(b.Bytes(), nil); ok {
		t.Fatal("fast path accepted too many instances")
	}
}

// FuzzFastDecode holds the fast path to the slow one on arbitrary bodies.
func FuzzFastDecode(f *testing.F) {
	f.Add([]byte(modeltest.Single))
	f.Add([]byte(`{"instances": [{"patient_id": "a", "features": {"age": null, "sex": "F"}, "horizon": 3}]}`))
	f.Add([]byte(`{"features": {"age": 1e400, "b": -0.5E-3}, "months_enrolled": -0}`))
	f.Add([]byte(`{"outputs": ["hazard", "survival"], "instances": [{"features": {"age": 1}}]}`))
	f.Add([]byte(`{"features": {"age": 1}, "outputs": ["explanation", "median_months", "expected_months"]}`))
	f.Add([]byte("{\"patient_id\": \"\u00a0\x7f\", \"features\": {\"sex\": \"\u0085\", \"\xc2\xa0\": \"\\u0000\"}}"))
	f.Add([]byte(`{"features": {"program": "` + strings.Repeat("é", MaxStringBytes/2) + `"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		checkFastAgrees(t, body, testNames())
	})
}
