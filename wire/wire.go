// Package wire owns caresignal's wire formats: the engagement request and
// answer of POST /api/engagement, the Open Inference Protocol (v2) and
// MLflow /invocations codecs, the JSON error body, and the prediction
// record the log keeps. Each format is decoded, validated and encoded here
// and nowhere else, so the HTTP server, the command line, the offline
// checks of the log and any other entry point read and write the same
// bytes.
//
// The package is pure: it does no I/O and knows no model beyond what the
// Model interface tells it.
package wire

import (
	"github.com/caresignal/caresignal"
)

// MaxBodyBytes bounds a request body: a full batch of MaxInstances patients
// takes about a quarter of this.
const MaxBodyBytes = 2 << 20

// MaxPatientIDBytes bounds a patient id.
const MaxPatientIDBytes = 200

// Model is what a codec needs to know of the model that answers.
// *model.Model satisfies it.
type Model interface {
	Info() caresignal.ModelInfo
	// Inputs lists the features the model takes, in its order.
	Inputs() []caresignal.Input
	// Explains reports whether predictions carry contributions.
	Explains() bool
	// Platform names where the model's arithmetic comes from.
	Platform() string
}

// ErrorBody is the JSON body of every error of POST /api/engagement and
// the other JSON routes: a sentence safe to show, and the offending field.
type ErrorBody struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

// NewErrorBody returns the body answering err: its caller-safe message
// and field, never its cause.
func NewErrorBody(err error) ErrorBody {
	return ErrorBody{Error: caresignal.ErrorMessage(err), Field: caresignal.ErrorField(err)}
}
