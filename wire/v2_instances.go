package wire

import (
	"fmt"
	"slices"
	"strings"

	"github.com/caresignal/caresignal"
)

// FirstPatientID is the patient_id of the first row, or "".
func (req *V2Request) FirstPatientID() string {
	for _, in := range req.inputs {
		if in.name == v2PatientID && len(in.values) > 0 && in.values[0].Kind == caresignal.String {
			return in.values[0].Str
		}
	}
	return ""
}

// Instances builds one instance per row for m, and checks the outputs
// asked for against m's.
func (req *V2Request) Instances(m Model) ([]caresignal.Instance, []string, error) {
	outs := V2Outputs(m)
	for k, name := range req.outputs {
		if !slices.ContainsFunc(outs, func(t V2TensorMeta) bool { return t.Name == name }) {
			names := make([]string, len(outs))
			for i, t := range outs {
				names[i] = t.Name
			}
			return nil, nil, caresignal.Invalidf(fmt.Sprintf("outputs[%d].name", k), "outputs[%d] %q is not an output of model %q (outputs: %s)", k, name, m.Info().Name, strings.Join(names, ", "))
		}
	}
	inputs := m.Inputs()
	insts := make([]caresignal.Instance, req.rows)
	for i := range insts {
		insts[i] = caresignal.Instance{Features: make(map[string]caresignal.Value, len(req.inputs)), Horizon: req.horizon}
	}
	for j, in := range req.inputs {
		where := fmt.Sprintf("inputs[%d] %q", j, in.name)
		field := fmt.Sprintf("inputs[%d]", j)
		switch in.name {
		case v2PatientID:
			if in.datatype != "BYTES" {
				return nil, nil, caresignal.Invalidf(field+".datatype", "%s: datatype %s; patient ids are BYTES (strings)", where, in.datatype)
			}
			for i, v := range in.values {
				insts[i].PatientID = v.Str
				if len(v.Str) > MaxPatientIDBytes {
					return nil, nil, caresignal.Invalidf(field+".data", "%s row %d: patient_id is longer than %d bytes", where, i, MaxPatientIDBytes)
				}
			}
		case v2MonthsEnrolled:
			if in.datatype == "BYTES" {
				return nil, nil, caresignal.Invalidf(field+".datatype", "%s: datatype BYTES; months_enrolled takes whole numbers (INT64)", where)
			}
			for i, raw := range in.raw {
				n, err := integer(raw, 0, 0, caresignal.MaxMonthsEnrolled)
				if err != nil {
					return nil, nil, caresignal.Invalidf(field+".data", "%s row %d: months_enrolled %s", where, i, err)
				}
				insts[i].MonthsEnrolled = n
			}
		case v2DaysElapsed:
			if in.datatype == "BYTES" {
				return nil, nil, caresignal.Invalidf(field+".datatype", "%s: datatype BYTES; days_elapsed takes whole numbers (INT64)", where)
			}
			for i, raw := range in.raw {
				n, err := integer(raw, 0, 0, caresignal.MonthDays-1)
				if err != nil {
					return nil, nil, caresignal.Invalidf(field+".data", "%s row %d: days_elapsed %s", where, i, err)
				}
				insts[i].DaysElapsed = n
			}
		default:
			k := slices.IndexFunc(inputs, func(x caresignal.Input) bool { return x.Name == in.name })
			if k >= 0 && !inputs[k].Categorical && in.datatype == "BYTES" {
				return nil, nil, caresignal.Invalidf(field+".datatype", "%s: datatype BYTES, but %s is a numeric feature; send FP64 (or another numeric datatype)", where, in.name)
			}
			for i, v := range in.values {
				insts[i].Features[in.name] = v
			}
		}
	}
	return insts, req.outputs, nil
}

// ScoreError names the tensor and row of a model's refusal: the model's
// "instances[2].features.age must be at least 0" becomes `inputs[1] "age"
// row 2: features.age must be at least 0`, whose text after the colon is
// what POST /api/engagement answers for that patient alone.
func (req *V2Request) ScoreError(m Model, err error) error {
	e, ok := err.(*caresignal.Error)
	if !ok || e.Code != caresignal.EINVALID || !strings.HasPrefix(e.Field, "instances[") {
		return err
	}
	row, rest, ok := strings.Cut(strings.TrimPrefix(e.Field, "instances["), "].")
	if !ok {
		return err
	}
	msg := strings.TrimPrefix(e.Message, "instances["+row+"].")
	feature, isFeature := strings.CutPrefix(rest, "features.")
	if !isFeature {
		return &caresignal.Error{Code: e.Code, Field: rest, Message: "row " + row + ": " + msg, Err: e.Err}
	}
	j := slices.IndexFunc(req.inputs, func(in v2Input) bool { return in.name == feature })
	if j < 0 {
		return &caresignal.Error{Code: e.Code, Field: "inputs", Message: fmt.Sprintf("no input tensor %q: %s", feature, msg), Err: e.Err}
	}
	known := slices.ContainsFunc(m.Inputs(), func(in caresignal.Input) bool { return in.Name == feature })
	where := fmt.Sprintf("inputs[%d] %q", j, feature)
	if known {
		where += " row " + row
	}
	return &caresignal.Error{Code: e.Code, Field: fmt.Sprintf("inputs[%d]", j), Message: where + ": " + msg, Err: e.Err}
}

// v2Tensors lays the predictions out as output tensors, row-major: those
// asked for in that order, or (want nil) all in the order of the metadata.
func v2Tensors(m Model, preds []caresignal.Prediction, horizon int, want []string) []V2OutTensor {
	n := len(preds)
	metas := V2Outputs(m)
	if want != nil {
		// In the order asked for; Instances checked that m has them.
		all := metas
		metas = make([]V2TensorMeta, 0, len(want))
		for _, name := range want {
			if k := slices.IndexFunc(all, func(t V2TensorMeta) bool { return t.Name == name }); k >= 0 {
				metas = append(metas, all[k])
			}
		}
	}
	var out []V2OutTensor
	for _, t := range metas {
		o := V2OutTensor{Name: t.Name, Datatype: t.Datatype, Shape: []int{n}}
		switch t.Name {
		case "hazard", "survival":
			data := make([]float64, 0, n*horizon)
			for _, p := range preds {
				if t.Name == "hazard" {
					data = append(data, p.Hazard...)
				} else {
					data = append(data, p.Survival...)
				}
			}
			o.Shape, o.Data = []int{n, horizon}, data
		case "expected_months":
			data := make([]float64, n)
			for i, p := range preds {
				data[i] = p.ExpectedMonths
			}
			o.Data = data
		case "median_months":
			data := make([]int, n)
			for i, p := range preds {
				data[i] = -1
				if p.MedianMonths != nil {
					data[i] = *p.MedianMonths
				}
			}
			o.Data = data
		case "contributions":
			inputs := m.Inputs()
			data := make([]float64, n*len(inputs))
			for i, p := range preds {
				for _, c := range p.Explanation {
					if k := slices.IndexFunc(inputs, func(in caresignal.Input) bool { return in.Name == c.Feature }); k >= 0 {
						data[i*len(inputs)+k] = c.Contribution
					}
				}
			}
			o.Shape, o.Data = []int{n, len(inputs)}, data
		case "warnings":
			data := make([]string, n)
			for i, p := range preds {
				data[i] = strings.Join(p.Warnings, "; ")
			}
			o.Data = data
		}
		out = append(out, o)
	}
	return out
}
