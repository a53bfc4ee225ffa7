package model

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/model/sklearn"
)

// periodEncoding is how an imported pipeline reads its period column when
// a one-hot or ordinal encoder reads it — the usual per-period baseline in
// scikit-learn. The scoring layer sets the column to each predicted month;
// a month the encoder was not fitted on is treated exactly as the pipeline
// treats it: refused (handle_unknown="error") or encoded as the encoder
// encodes any unseen value, which extrapolates the baseline hazard.
type periodEncoding struct {
	column string
	enc    sklearn.Encoding
	text   bool  // the levels are strings ("1", "2", …): a month is sent as its text
	months []int // the fitted months, ascending
}

// newPeriodEncoding checks that the encoder's levels are month numbers:
// whole numbers, or strings holding them ("3", not "03" or "m3").
func newPeriodEncoding(column string, enc sklearn.Encoding) (*periodEncoding, error) {
	pe := &periodEncoding{column: column, enc: enc}
	kinds := map[caresignal.ValueKind]bool{}
	for _, v := range enc.Levels {
		var m int
		switch {
		case v.Kind == caresignal.Null || (v.Kind == caresignal.Number && math.IsNaN(v.Num)):
			continue // a missing-value category; the period is never missing
		case v.Kind == caresignal.Number && v.Num == math.Trunc(v.Num) && math.Abs(v.Num) <= caresignal.MaxMonthsEnrolled+caresignal.MaxHorizon:
			m = int(v.Num)
		case v.Kind == caresignal.String:
			n, err := strconv.Atoi(v.Str)
			if err != nil || strconv.Itoa(n) != v.Str {
				return nil, pe.notMonths()
			}
			m = n
		default:
			return nil, pe.notMonths()
		}
		kinds[v.Kind] = true
		pe.months = append(pe.months, m)
	}
	if len(kinds) != 1 {
		return nil, pe.notMonths()
	}
	pe.text = kinds[caresignal.String]
	slices.Sort(pe.months)
	return pe, nil
}

func (pe *periodEncoding) notMonths() error {
	levels := quoteLevels(pe.enc.Levels)
	return caresignal.Invalidf("period-column", "period column %q is %s with the levels %s, which are not month numbers (1, 2, …): the scoring layer could not set it to a month", pe.column, pe.encoded(), levels)
}

// quoteLevels lists levels as text, the first 20 of them.
func quoteLevels(levels []caresignal.Value) string {
	parts := make([]string, 0, min(len(levels), 21))
	for i, v := range levels {
		if i == 20 {
			parts = append(parts, fmt.Sprintf("… (%d in all)", len(levels)))
			break
		}
		if v.Kind == caresignal.String {
			parts = append(parts, strconv.Quote(v.Str))
		} else {
			parts = append(parts, v.String())
		}
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// value is the period column's value for a month, as the training column
// held it.
func (pe *periodEncoding) value(month int) caresignal.Value {
	if pe.text {
		return caresignal.Str(strconv.Itoa(month))
	}
	return caresignal.Num(float64(month))
}

// known reports whether the encoder was fitted on month.
func (pe *periodEncoding) known(month int) bool {
	_, ok := slices.BinarySearch(pe.months, month)
	return ok
}

// encoded reads "one-hot encoded" or "ordinal encoded".
func (pe *periodEncoding) encoded() string {
	if pe.enc.Encoder == "OrdinalEncoder" {
		return "ordinal encoded"
	}
	return "one-hot encoded"
}

// note is what the import reports about the period column.
func (pe *periodEncoding) note() string {
	head := fmt.Sprintf("period column %q is %s (%s) with the months %s", pe.column, pe.encoded(), pe.enc.Encoder, monthRanges(pe.months))
	if pe.enc.Refuses {
		return head + fmt.Sprintf(`, and the model refuses any other month (handle_unknown=%q), as scikit-learn does: a prediction that reaches another month is refused`, pe.enc.HandleUnknown)
	}
	return head + fmt.Sprintf(`: any other month is scored as the pipeline scores it, as %s (handle_unknown=%q), which extrapolates the baseline hazard; predictions that reach such months say so in a warning`, pe.enc.Unseen, pe.enc.HandleUnknown)
}

// refuse is the error for a month the encoder refuses: the i-th predicted
// month of a patient enrolled for monthsEnrolled months.
func (pe *periodEncoding) refuse(month, i, monthsEnrolled int) error {
	msg := fmt.Sprintf(`month %d is not among the months the model was fitted on for %s (%s), and its %s refuses any other month (handle_unknown=%q)`,
		month, pe.column, monthRanges(pe.months), pe.enc.Encoder, pe.enc.HandleUnknown)
	if i == 0 {
		return caresignal.Invalidf("months_enrolled", "%s: the model cannot score a patient with months_enrolled %d", msg, monthsEnrolled)
	}
	return caresignal.Invalidf("horizon", "%s: with months_enrolled %d the horizon can be at most %d", msg, monthsEnrolled, i)
}

// warning is the prediction's warning for the months it scored that the
// encoder was not fitted on.
func (pe *periodEncoding) warning(unseen []int) string {
	what := "month " + monthRanges(unseen) + " is"
	if len(unseen) > 1 {
		what = "months " + monthRanges(unseen) + " are"
	}
	return fmt.Sprintf("%s not among the months the model was fitted on for %s (%s): scored as the pipeline scores them, as %s, an extrapolation of the baseline hazard",
		what, pe.column, monthRanges(pe.months), pe.enc.Unseen)
}

// monthRanges writes ascending months compactly: "1–12", "1–3, 5, 7–9".
func monthRanges(months []int) string {
	var b strings.Builder
	for i := 0; i < len(months); {
		j := i
		for j+1 < len(months) && months[j+1] == months[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Itoa(months[i]))
		if j > i {
			b.WriteString("–" + strconv.Itoa(months[j]))
		}
		i = j + 1
	}
	return b.String()
}
