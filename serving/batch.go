package serving

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/feature"
	"github.com/caresignal/caresignal/model"
	"github.com/caresignal/caresignal/wire"
)

// BatchStore is what batch scoring reads and writes.
type BatchStore interface {
	PredictionExtract(ctx context.Context) (*caresignal.Extract, error)
	LastELT(ctx context.Context) (time.Time, error)
	KnownPatients(ctx context.Context) (map[string]time.Time, error)
	ReplaceScores(ctx context.Context, run caresignal.ScoreRun, scores []caresignal.Score) error
	AppendRequests(ctx context.Context, recs []caresignal.RequestRecord) error
}

// BatchOptions configure a batch scoring run.
type BatchOptions struct {
	Horizon int // months to predict; 0: caresignal.DefaultHorizon
	// PseudonymKey, when set, pseudonymises the patient ids of the
	// prediction records (the scores table keeps the source ids).
	PseudonymKey []byte
	// KeepPredictions also returns every patient's full prediction.
	KeepPredictions bool
	// Progress, if set, is called now and then with the patients scored.
	Progress func(done, total int)
}

// Batch is a scored prediction extract, not yet stored.
type Batch struct {
	Run      caresignal.ScoreRun
	Enrolled int // patients in the prediction extract
	Scores   []caresignal.Score
	// Predictions holds each score's full prediction, in the same order
	// (with KeepPredictions).
	Predictions []caresignal.Prediction
	// Refused counts the patients the model refused, by the field it
	// named; they have no score. The field, not the message: a message
	// can quote the value.
	Refused map[string]int
	// Unseen counts the patients scored with a level not seen in
	// training, by feature: the spec's batch policy scored them as the
	// reference level (or refused them, then also in Refused).
	Unseen  map[string]int
	records []caresignal.RequestRecord // one per chunk of patients
}

// chunkPatients is the most patients in one prediction record of a batch
// scoring run.
const chunkPatients = 1000

// ScoreBatch scores every patient of the store's prediction extract (every
// patient enrolled at the as-of date of the last ELT) with m, and builds
// the prediction log's records, one per chunk of 1,000 patients, each
// patient as the API would record it. It writes nothing: Store does.
func ScoreBatch(ctx context.Context, store BatchStore, m *model.Model, opt BatchOptions) (*Batch, error) {
	if opt.Horizon == 0 {
		opt.Horizon = caresignal.DefaultHorizon
	}
	if opt.Horizon < 1 || opt.Horizon > caresignal.MaxHorizon {
		return nil, caresignal.Invalidf("horizon", "horizon must be between 1 and %d", caresignal.MaxHorizon)
	}
	x, err := store.PredictionExtract(ctx)
	if err != nil {
		return nil, err
	}
	asOf, err := store.LastELT(ctx)
	if err != nil {
		return nil, err
	}
	if len(x.Rows) == 0 {
		return nil, caresignal.Errorf(caresignal.EINVALID, "no patient is enrolled as of %s: nothing to score", asOf.Format(time.DateOnly))
	}
	// Each patient is scored as of the as-of date, part-way through the
	// month in progress: the days of it already passed (the as-of date is
	// the first day not in the data) make the first month's hazard cover
	// only the rest of it (caresignal.MonthInProgress).
	enrolled, err := store.KnownPatients(ctx)
	if err != nil {
		return nil, err
	}
	cols, err := m.Features.Bind(x.Columns)
	if err != nil {
		return nil, caresignal.Errorf(caresignal.EINVALID, "the model needs feature %q, which the prediction extract does not have (columns: %s)",
			caresignal.ErrorField(err), strings.Join(x.Columns, ", "))
	}
	started := time.Now().UTC()
	runID := wire.ScoreRunID(asOf, started)
	b := &Batch{Enrolled: len(x.Rows), Refused: map[string]int{}, Unseen: map[string]int{}, Scores: make([]caresignal.Score, 0, len(x.Rows))}
	head := wire.RequestLog{At: started, Model: m.Info(), Route: wire.ScoreRoute, Kind: wire.KindPatient, RequestID: runID, Key: opt.PseudonymKey}
	chunk := head
	flush := func() {
		if rec, ok := chunk.Stored(); ok {
			b.records = append(b.records, rec)
		}
		chunk = head
	}
	inst := caresignal.Instance{Horizon: opt.Horizon, Features: make(map[string]caresignal.Value, len(x.Columns))}
	for i, r := range x.Rows {
		inst.PatientID, inst.MonthsEnrolled = r.PatientID, r.Month-1
		inst.DaysElapsed = DaysElapsed(asOf, enrolled[r.PatientID], r.Month)
		clear(inst.Features)
		for j, f := range m.Features.Features {
			inst.Features[f.Name] = r.Values[cols[j]]
		}
		if m.Imported == nil {
			m.Features.UnseenLevels(inst.Features, func(f string) { b.Unseen[f]++ })
		}
		// The explanation gives the score's drivers, stored with it.
		p, err := m.PredictFor(feature.SurfaceBatch, &inst, m.Explains())
		if err != nil {
			b.Refused[caresignal.ErrorField(err)]++
			continue
		}
		in, err := wire.AppendInstance(nil, &inst)
		if err == nil {
			err = chunk.Add(inst.PatientID, in, p.FeaturesHash, func(dst []byte) ([]byte, error) { return wire.AppendOutputs(dst, p.Hazard, p.ExpectedMonths) })
		}
		if err != nil {
			return nil, fmt.Errorf("recording patient %d of the extract: %w", i+1, err)
		}
		if chunk.Len() == chunkPatients {
			flush()
		}
		b.Scores = append(b.Scores, caresignal.Score{PatientID: r.PatientID, MonthsEnrolled: inst.MonthsEnrolled,
			HazardNext: p.Hazard[0], Risk30: caresignal.Risk30(p.Hazard, inst.DaysElapsed), SurvivalEnd: p.Survival[opt.Horizon-1], ExpectedMonths: p.ExpectedMonths, MedianMonths: p.MedianMonths,
			Drivers: m.Drivers(p.Explanation, 2)})
		if opt.KeepPredictions {
			b.Predictions = append(b.Predictions, p)
		}
		if opt.Progress != nil && i%1000 == 0 {
			opt.Progress(i, len(x.Rows))
		}
	}
	flush()
	assignBands(b.Scores)
	b.Run = caresignal.ScoreRun{Model: m.Info(), AsOf: asOf, ScoredAt: time.Now().UTC(), Horizon: opt.Horizon}
	return b, nil
}

// recordChunk is the most records appended in one transaction (5,000
// patients).
const recordChunk = 5

// Store writes the run's scores to the scores table, replacing an earlier
// run of the same model version and as-of date, and then every score's
// record to the prediction log, so that it can be rescored (parity) and
// followed up to its outcome.
func (b *Batch) Store(ctx context.Context, store BatchStore) error {
	if err := store.ReplaceScores(ctx, b.Run, b.Scores); err != nil {
		return err
	}
	stored := 0
	for start := 0; start < len(b.records); start += recordChunk {
		recs := b.records[start:min(start+recordChunk, len(b.records))]
		if err := store.AppendRequests(ctx, recs); err != nil {
			return fmt.Errorf("the scores are stored, but the prediction log holds only %d of their %d predictions: %w", stored, len(b.Scores), err)
		}
		for _, r := range recs {
			stored += r.Instances
		}
	}
	return nil
}

// DaysElapsed is how many days of month `month` of enrolment (a 30-day
// period from enrolledOn) have passed by asOf, the first day not in the
// data: 0 to caresignal.MonthDays−1; 0 when the enrolment date is unknown.
func DaysElapsed(asOf, enrolledOn time.Time, month int) int {
	if enrolledOn.IsZero() {
		return 0
	}
	d := int(asOf.Sub(enrolledOn).Hours()/24+0.5) - caresignal.MonthDays*(month-1)
	return min(max(d, 0), caresignal.MonthDays-1)
}

// assignBands sets each score's risk band by its rank of the risk within
// the next 30 days in the run, ties in patient order (the worklist's
// order).
func assignBands(scores []caresignal.Score) {
	order := make([]int, len(scores))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		if c := cmp.Compare(scores[b].Risk30, scores[a].Risk30); c != 0 {
			return c
		}
		return strings.Compare(scores[a].PatientID, scores[b].PatientID)
	})
	for rank, i := range order {
		scores[i].Band = caresignal.BandOfRank(rank, len(scores))
	}
}
