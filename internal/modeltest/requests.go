package modeltest

import (
	"fmt"
	"strconv"
	"strings"
)

// Single is one patient's POST /api/engagement body.
const Single = `{"patient_id": "P0012345", "features": ` + Features + `, "horizon": 12}`

// Batch is a POST /api/engagement body of n patients at various months.
func Batch(n int) string {
	var sb strings.Builder
	sb.WriteString(`{"instances": [`)
	for i := range n {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(`{"patient_id": "P` + strconv.Itoa(1000+i) + `", "features": ` + Features + `, "months_enrolled": ` + strconv.Itoa(i%7) + `, "horizon": 12}`)
	}
	sb.WriteString(`]}`)
	return sb.String()
}

// FeaturesFormat is a patient's features with age, baseline score
// (hundredths) and sessions last month left to fmt verbs, in that order.
const FeaturesFormat = `{"age": %d, "sex": "F", "program": "diabetes", "channel": "app", "baseline_score": 0.%02d, "prior_no_shows": 1, "enrolled_via": "referral", "sessions_last_month": %d, "days_since_last_session": 6, "messages_last_month": 4}`

// Request is a request body and the path it is posted to.
type Request struct {
	Path, Body string
}

// LoggedRequests are what the tests of the prediction log serve: twenty
// single patients (with odd spacing, which the log keeps as received),
// a batch of thirty, and one /invocations row. predictions is how many
// records they make.
func LoggedRequests() (reqs []Request, predictions int) {
	for i := range 20 {
		reqs = append(reqs, Request{"/api/engagement", fmt.Sprintf(`{"patient_id": "P%d",  "features": `+FeaturesFormat+`, "months_enrolled": %d, "horizon": %d}`, i, 30+i, 10+i, i%5, i%7, 1+i%12)})
	}
	var batch []string
	for i := range 30 {
		batch = append(batch, fmt.Sprintf(`{"patient_id": "B%d", "features": `+FeaturesFormat+`}`, i, 60+i, 50+i, i%4))
	}
	reqs = append(reqs,
		Request{"/api/engagement", `{"instances": [` + strings.Join(batch, ",") + `]}`},
		Request{"/invocations", `{"dataframe_records": [{"month": 3, "age": 40, "sex": "M", "program": "copd", "channel": "sms", "baseline_score": 0.5, "prior_no_shows": 0, "enrolled_via": "self", "sessions_last_month": 2, "days_since_last_session": 12, "messages_last_month": 1}]}`})
	return reqs, 20 + 30 + 1
}
