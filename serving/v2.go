package serving

import (
	"slices"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/wire"
)

// The Open Inference Protocol (v2): columns of values, one row per patient.

// InferV2 answers an Open Inference Protocol inference request to the
// model name and, if not empty, version. Without a version, the model is
// picked as for POST /api/engagement, by the patient_id of the first row,
// among the models of that name.
func (s *Scorer) InferV2(call Call, name, version string, body []byte) ([]byte, error) {
	set := s.models.Load()
	if set == nil {
		return nil, caresignal.Errorf(caresignal.EUNAVAILABLE, "no model is loaded")
	}
	m, _, err := set.Lookup(name, version)
	if err != nil {
		return nil, err
	}
	req, err := wire.DecodeV2(body)
	if err != nil {
		return nil, err
	}
	if version == "" {
		if p := set.Pick(req.FirstPatientID()); p.Name == m.Name {
			m = p
		}
	}
	insts, outputs, err := req.Instances(m)
	if err != nil {
		return nil, err
	}
	f := wire.AllFields
	if len(outputs) > 0 && !slices.Contains(outputs, "contributions") {
		f &^= wire.FieldExplanation // the explanation is only computed for contributions
	}
	ans, err := Score(m, insts, true, f)
	if err != nil {
		return nil, req.ScoreError(m, err)
	}
	s.count(m, len(ans.Predictions))
	var raws [][]byte
	if s.log != nil {
		raws = instancesJSON(insts)
		if err := s.recordPatients(call, m, wire.KindPatient, false, raws, ans.Predictions, nil); err != nil {
			return nil, err
		}
	}
	if set.Shadow != nil {
		s.shadow(call, set.Shadow, insts, raws, true, ans)
	}
	return wire.EncodeV2(m, req, ans.Predictions, outputs)
}

// instancesJSON renders decoded instances (from a protocol without a JSON
// object per patient) in the POST /api/engagement request shape.
func instancesJSON(insts []caresignal.Instance) [][]byte {
	out := make([][]byte, len(insts))
	for i := range insts {
		// Decoded numbers are finite, so this cannot fail.
		out[i], _ = wire.AppendInstance(nil, &insts[i])
	}
	return out
}
