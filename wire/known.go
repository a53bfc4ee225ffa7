package wire

import "github.com/caresignal/caresignal"

// Known is what the request decoder knows in advance: the request keys,
// feature names and category labels of the models being served, mapped to
// themselves (so that decoding them allocates nothing), and the largest
// number of inputs a model takes (to size each patient's map). It is
// read-only once made.
type Known struct {
	names    map[string]string
	features int
}

// requestKeys are the keys of a request body.
var requestKeys = []string{"instances", "patient_id", "features", "months_enrolled", "horizon"}

// NewKnown returns what to expect of requests to models with these inputs.
func NewKnown(inputs ...[]caresignal.Input) *Known {
	k := &Known{names: make(map[string]string)}
	for _, s := range requestKeys {
		k.names[s] = s
	}
	for _, ins := range inputs {
		k.features = max(k.features, len(ins))
		for _, in := range ins {
			k.names[in.Name] = in.Name
			for _, l := range in.Levels {
				k.names[l] = l
			}
		}
	}
	return k
}
