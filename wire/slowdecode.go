package wire

import (
	"strconv"

	"github.com/caresignal/caresignal"
)

// The slow path of DecodeRequest: any body, checked field by field, the
// first problem named by its path.

// slowDecode is DecodeRequest for any body: it checks the JSON first,
// then each field, and names the first problem.
func slowDecode(body []byte) (Request, error) {
	if err := validJSON(body); err != nil {
		return Request{}, err
	}
	if err := checkStrings(body, ""); err != nil {
		return Request{}, err
	}
	var one wireInstance
	var instances, outputs []byte
	err := eachField(body, "", func(key string, val []byte) error {
		switch key {
		case "instances":
			instances = val
			return nil
		case "outputs":
			outputs = val
			return nil
		}
		return one.set(key, val, "")
	})
	if err != nil {
		return Request{}, err
	}
	var req Request
	if outputs != nil && string(outputs) != "null" {
		if req.Fields, err = decodeFields(outputs); err != nil {
			return Request{}, err
		}
	}
	if instances == nil {
		inst, err := one.instance("")
		if err != nil {
			return Request{}, err
		}
		req.Instances, req.Raws = []caresignal.Instance{inst}, [][]byte{body}
		return req, nil
	}
	if one.seen {
		return Request{}, caresignal.Invalidf("instances", "send either one patient or \"instances\", not both")
	}
	if instances[0] != '[' {
		return Request{}, caresignal.Invalidf("instances", "instances must be an array of patient objects")
	}
	req.Batch = true
	req.Raws = elements(instances, nil)
	if len(req.Raws) == 0 || len(req.Raws) > caresignal.MaxInstances {
		return Request{}, caresignal.Invalidf("instances", "instances must hold 1 to %d patients, got %d", caresignal.MaxInstances, len(req.Raws))
	}
	req.Instances = make([]caresignal.Instance, len(req.Raws))
	for i, raw := range req.Raws {
		prefix := "instances[" + strconv.Itoa(i) + "]"
		var w wireInstance
		if err := eachField(raw, prefix, func(key string, val []byte) error { return w.set(key, val, prefix+".") }); err != nil {
			return Request{}, err
		}
		if req.Instances[i], err = w.instance(prefix + "."); err != nil {
			return Request{}, err
		}
	}
	return req, nil
}

// wireInstance is one patient as sent, its scalars kept raw so that each
// error can name its field exactly.
type wireInstance struct {
	seen           bool // any field was set
	patientID      []byte
	features       []byte
	monthsEnrolled []byte
	horizon        []byte
	daysElapsed    []byte
}

// set records one field of a patient object; prefix is "" or "instances[i].".
func (w *wireInstance) set(key string, val []byte, prefix string) error {
	switch key {
	case "patient_id":
		w.patientID = val
	case "features":
		w.features = val
	case "months_enrolled":
		w.monthsEnrolled = val
	case "horizon":
		w.horizon = val
	case "days_elapsed":
		w.daysElapsed = val
	default:
		return caresignal.Invalidf(prefix+key, "%s%s is not a known field", prefix, key)
	}
	w.seen = true
	return nil
}

// instance converts a decoded patient; prefix is "" or "instances[i].".
func (w *wireInstance) instance(prefix string) (caresignal.Instance, error) {
	inst := caresignal.Instance{Horizon: caresignal.DefaultHorizon}
	if w.patientID != nil && string(w.patientID) != "null" {
		if w.patientID[0] != '"' {
			return inst, caresignal.Invalidf(prefix+"patient_id", "%spatient_id must be a string", prefix)
		}
		inst.PatientID = unquote(w.patientID)
		if len(inst.PatientID) > MaxPatientIDBytes {
			return inst, caresignal.Invalidf(prefix+"patient_id", "%spatient_id is longer than %d bytes", prefix, MaxPatientIDBytes)
		}
	}
	if w.features == nil || string(w.features) == "null" {
		return inst, caresignal.Invalidf(prefix+"features", "%sfeatures is required: an object of feature values", prefix)
	}
	inst.Features = make(map[string]caresignal.Value, 16)
	err := eachField(w.features, prefix+"features", func(name string, raw []byte) error {
		v, err := featureValue(raw)
		if err != nil {
			field := prefix + "features." + name
			return caresignal.Invalidf(field, "%s %s", field, err)
		}
		inst.Features[name] = v
		return nil
	})
	if err != nil {
		return inst, err
	}
	if inst.MonthsEnrolled, err = integer(w.monthsEnrolled, 0, 0, caresignal.MaxMonthsEnrolled); err != nil {
		return inst, caresignal.Invalidf(prefix+"months_enrolled", "%smonths_enrolled %s", prefix, err)
	}
	if inst.Horizon, err = integer(w.horizon, caresignal.DefaultHorizon, 1, caresignal.MaxHorizon); err != nil {
		return inst, caresignal.Invalidf(prefix+"horizon", "%shorizon %s", prefix, err)
	}
	if inst.DaysElapsed, err = integer(w.daysElapsed, 0, 0, caresignal.MonthDays-1); err != nil {
		return inst, caresignal.Invalidf(prefix+"days_elapsed", "%sdays_elapsed %s", prefix, err)
	}
	return inst, nil
}
