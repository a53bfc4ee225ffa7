package monitor

import (
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/eval"
	"github.com/caresignal/caresignal/feature"
	"github.com/caresignal/caresignal/model"
)

// SubjectColumns names the columns of a subjects CSV: one row per subject,
// with an id, the observed duration and whether it ended in the event.
// Every other column the model takes is a covariate, matched by name.
type SubjectColumns struct {
	ID       string
	Duration string
	Event    string
	// PeriodLength is the number of duration units in one of the model's
	// periods (1 when durations are already in months; 30 for days with
	// the model's 30-day months).
	PeriodLength float64
}

// Subject is one row of a subjects CSV.
type Subject struct {
	ID       string
	Time     float64 // duration on the model's period scale
	Event    bool
	Features map[string]caresignal.Value
}

// ReadSubjects reads a subjects CSV for model m. Every problem names its
// line and column; values are never quoted in errors. Empty cells and NA
// are missing values (which the model imputes or refuses).
func ReadSubjects(r io.Reader, cols SubjectColumns, m *model.Model) ([]Subject, error) {
	if cols.PeriodLength == 0 {
		cols.PeriodLength = 1
	}
	if !(cols.PeriodLength > 0) || math.IsInf(cols.PeriodLength, 0) {
		return nil, caresignal.Invalidf("period-length", "the period length must be a positive number")
	}
	cr, header, err := feature.OpenCSV(r, "one row per subject")
	if err != nil {
		return nil, err
	}
	col := func(role, name string) (int, error) { return feature.HeaderColumn(header, role, name) }
	idCol, err := col("id", cols.ID)
	if err != nil {
		return nil, err
	}
	durCol, err := col("duration", cols.Duration)
	if err != nil {
		return nil, err
	}
	evCol, err := col("event", cols.Event)
	if err != nil {
		return nil, err
	}
	inputs := m.Inputs()
	featCols := make([]int, len(inputs))
	for i, in := range inputs {
		j := slices.Index(header, in.Name)
		if j < 0 && !in.Optional {
			return nil, caresignal.Invalidf(in.Name, "the model takes %q, which is not a column of the file (columns: %s)", in.Name, strings.Join(header, ", "))
		}
		if j >= 0 && (j == idCol || j == durCol || j == evCol) {
			return nil, caresignal.Invalidf(in.Name, "column %q is both a covariate and the id, duration or event column", in.Name)
		}
		featCols[i] = j
	}
	var out []Subject
	seen := map[string]int{}
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, caresignal.Errorf(caresignal.EINVALID, "%v", err)
		}
		where := func(name string) string { return fmt.Sprintf("line %d, column %q", line, name) }
		s := Subject{ID: rec[idCol], Features: make(map[string]caresignal.Value, len(inputs))}
		if s.ID == "" {
			return nil, caresignal.Invalidf("id", "%s: the id is empty", where(cols.ID))
		}
		if prev, dup := seen[s.ID]; dup {
			return nil, caresignal.Invalidf("id", "%s: the id repeats line %d; want one row per subject", where(cols.ID), prev)
		}
		seen[s.ID] = line
		d, err := strconv.ParseFloat(strings.TrimSpace(rec[durCol]), 64)
		if err != nil || d < 0 || math.IsNaN(d) || math.IsInf(d, 0) {
			return nil, caresignal.Invalidf("duration", "%s: the duration is not a number ≥ 0", where(cols.Duration))
		}
		s.Time = d / cols.PeriodLength
		var ok bool
		if s.Event, ok = feature.ParseEvent(rec[evCol]); !ok {
			return nil, caresignal.Invalidf("event", "%s: the event is not 0 or 1", where(cols.Event))
		}
		for i, in := range inputs {
			if featCols[i] < 0 {
				s.Features[in.Name] = caresignal.NullValue()
				continue
			}
			v, ok := feature.ParseCell(rec[featCols[i]], in.Categorical)
			if !ok {
				return nil, caresignal.Invalidf(in.Name, "%s: not a finite number", where(in.Name))
			}
			s.Features[in.Name] = v
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, caresignal.Errorf(caresignal.EINVALID, "the file has a header but no subjects")
	}
	return out, nil
}

// ScoreSubjects predicts each subject's survival at time zero (no months
// enrolled yet) over horizon months, as batch scoring does (its policy on
// unseen levels). A subject the model refuses is an error naming its
// line's id position, not its values.
func ScoreSubjects(m *model.Model, subjects []Subject, horizon int) ([][]float64, error) {
	surv := make([][]float64, len(subjects))
	for i := range subjects {
		inst := caresignal.Instance{PatientID: subjects[i].ID, Features: subjects[i].Features, Horizon: horizon}
		p, err := m.PredictFor(feature.SurfaceBatch, &inst, false)
		if err != nil {
			return nil, fmt.Errorf("subject %d (data row %d): %w", i+1, i+1, err)
		}
		surv[i] = p.Survival
	}
	return surv, nil
}

// SubjectsRun is the Run of an OutcomeSection measured on subjects from a
// file rather than on a scoring run.
const SubjectsRun = "subjects"

// SubjectOutcomes scores subjects at time zero over horizon months and
// measures the predictions against their observed durations.
func SubjectOutcomes(m *model.Model, subjects []Subject, horizon int, opt eval.SurvivalOptions) (*OutcomeSection, error) {
	surv, err := ScoreSubjects(m, subjects, horizon)
	if err != nil {
		return nil, err
	}
	obs := make([]eval.Outcome, len(subjects))
	for i := range subjects {
		obs[i] = eval.Outcome{Time: subjects[i].Time, Event: subjects[i].Event}
	}
	met, err := eval.EvaluateSurvival(obs, surv, opt)
	if err != nil {
		return nil, err
	}
	sec := &OutcomeSection{Run: SubjectsRun, Patients: len(subjects), Followed: len(subjects), Metrics: met, PredictedSurvival: meanCurve(surv)}
	return sec, nil
}

// meanCurve is the pointwise mean of equal-length curves.
func meanCurve(curves [][]float64) []float64 {
	if len(curves) == 0 {
		return nil
	}
	out := make([]float64, len(curves[0]))
	for _, c := range curves {
		for t := range c {
			out[t] += c[t]
		}
	}
	for t := range out {
		out[t] /= float64(len(curves))
	}
	return out
}
