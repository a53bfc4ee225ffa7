package wire

import (
	"encoding/json"

	"github.com/caresignal/caresignal"
)

// The Open Inference Protocol (KServe's V2 protocol, Seldon MLServer's
// REST API), beside POST /api/engagement, so that clients written for
// those servers can score patients here. Inputs are columns: one tensor
// per model feature holding one value per patient, plus the optional
// tensors patient_id, months_enrolled and days_elapsed; the horizon is a request
// parameter. Outputs are the prediction's curves and summaries as
// tensors, one row per patient.

// Names of the tensors that are not model features.
const (
	v2PatientID      = "patient_id"
	v2MonthsEnrolled = "months_enrolled"
	v2DaysElapsed    = "days_elapsed"
)

// V2Error is the protocol's error body.
type V2Error struct {
	Error string `json:"error"`
}

// V2TensorMeta describes a tensor in the model metadata.
type V2TensorMeta struct {
	Name     string `json:"name"`
	Datatype string `json:"datatype"`
	Shape    []int  `json:"shape"`
}

// V2ModelMeta is the model metadata response.
type V2ModelMeta struct {
	Name     string         `json:"name"`
	Versions []string       `json:"versions"`
	Platform string         `json:"platform"`
	Inputs   []V2TensorMeta `json:"inputs"`
	Outputs  []V2TensorMeta `json:"outputs"`
}

// V2OutTensor is one output tensor of an inference response.
type V2OutTensor struct {
	Name     string `json:"name"`
	Datatype string `json:"datatype"`
	Shape    []int  `json:"shape"`
	Data     any    `json:"data"`
}

// V2InferResponse is the inference response.
type V2InferResponse struct {
	ModelName    string         `json:"model_name"`
	ModelVersion string         `json:"model_version"`
	ID           *string        `json:"id,omitempty"`
	Parameters   map[string]any `json:"parameters,omitempty"`
	Outputs      []V2OutTensor  `json:"outputs"`
}

// v2Outputs lists the output tensors m answers with.
func V2Outputs(m Model) []V2TensorMeta {
	out := []V2TensorMeta{
		{Name: "hazard", Datatype: "FP64", Shape: []int{-1, -1}},
		{Name: "survival", Datatype: "FP64", Shape: []int{-1, -1}},
		{Name: "expected_months", Datatype: "FP64", Shape: []int{-1}},
		{Name: "median_months", Datatype: "INT64", Shape: []int{-1}},
	}
	if m.Explains() {
		out = append(out, V2TensorMeta{Name: "contributions", Datatype: "FP64", Shape: []int{-1, len(m.Inputs())}})
	}
	return append(out, V2TensorMeta{Name: "warnings", Datatype: "BYTES", Shape: []int{-1}})
}

// V2Metadata is the model metadata of m, served under the given versions:
// its features as input tensors (categorical ones as BYTES), then
// patient_id and months_enrolled, and its output tensors.
func V2Metadata(m Model, versions []string) V2ModelMeta {
	info := m.Info()
	meta := V2ModelMeta{Name: info.Name, Versions: versions, Platform: m.Platform(), Outputs: V2Outputs(m)}
	for _, in := range m.Inputs() {
		dt := "FP64"
		if in.Categorical {
			dt = "BYTES"
		}
		meta.Inputs = append(meta.Inputs, V2TensorMeta{Name: in.Name, Datatype: dt, Shape: []int{-1}})
	}
	meta.Inputs = append(meta.Inputs,
		V2TensorMeta{Name: v2PatientID, Datatype: "BYTES", Shape: []int{-1}},
		V2TensorMeta{Name: v2MonthsEnrolled, Datatype: "INT64", Shape: []int{-1}},
		V2TensorMeta{Name: v2DaysElapsed, Datatype: "INT64", Shape: []int{-1}})
	return meta
}

// EncodeV2 encodes the inference response of m to req: the predictions
// as output tensors, those req asked for (outputs, from Instances) or all.
func EncodeV2(m Model, req *V2Request, preds []caresignal.Prediction, outputs []string) ([]byte, error) {
	info := m.Info()
	b, err := json.Marshal(V2InferResponse{
		ModelName:    info.Name,
		ModelVersion: info.Version,
		ID:           req.id,
		Parameters:   map[string]any{"horizon": req.horizon},
		Outputs:      v2Tensors(m, preds, req.horizon, outputs),
	})
	if err != nil {
		return nil, &caresignal.Error{Code: caresignal.EINTERNAL, Message: "internal error", Err: err}
	}
	return append(b, '\n'), nil
}
