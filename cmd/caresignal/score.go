package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/model"
	"github.com/caresignal/caresignal/serving"
)

func runScore(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "score", "", "Score every currently enrolled patient (the prediction extract) with a saved model and write the\nresults to the scores table, replacing an earlier run of the same model and as-of date.")
	var d dataFlags
	d.register(fs, e)
	modelPath := fs.String("model", envDefault(e, "CARESIGNAL_MODEL", ""), "model artifact (default <data-dir>/"+modelFileName+") (env CARESIGNAL_MODEL)")
	horizon := fs.Int("horizon", caresignal.DefaultHorizon, "months to predict")
	csvPath := fs.String("csv", "", "also write the scores, with each patient's hazard curve, to this CSV file")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *modelPath == "" {
		*modelPath = d.modelPath()
	}
	m, err := model.LoadFile(*modelPath)
	if err != nil {
		return err
	}
	store, _, err := d.open(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := ensurePublished(ctx, e, store, *modelPath, m, "caresignal score"); err != nil {
		return err
	}
	return stepScore(ctx, e, "", store, m, *horizon, *csvPath)
}

// stepScore scores every enrolled patient with m (serving.ScoreBatch),
// writes the CSV in full before the database changes and puts it in place
// only once the database has committed, and prints the run's summary.
func stepScore(ctx context.Context, e *env, prefix string, store caresignal.Store, m *model.Model, horizon int, csvPath string) error {
	key, err := pseudonymKey(e)
	if err != nil {
		return err
	}
	p := newProgress(e.stderr, "scoring", "patients")
	b, err := serving.ScoreBatch(ctx, store, m, serving.BatchOptions{Horizon: horizon, PseudonymKey: key, KeepPredictions: csvPath != "", Progress: p.Set})
	if err != nil {
		p.Finish()
		return err
	}
	var csvFile *pendingFile
	if csvPath != "" {
		if csvFile, err = writeScoresCSV(csvPath, b.Scores, b.Predictions); err != nil {
			p.Finish()
			return fmt.Errorf("writing %s: %w", csvPath, err)
		}
		defer csvFile.discard()
	}
	if err := b.Store(ctx, store); err != nil {
		p.Finish()
		return err
	}
	el := p.Finish()
	high := 0
	mean := 0.0
	for _, s := range b.Scores {
		mean += s.HazardNext
		if s.HazardNext >= 0.10 {
			high++
		}
	}
	if len(b.Scores) > 0 {
		mean /= float64(len(b.Scores))
	}
	fmt.Fprintf(e.stdout, "%sscored %s enrolled patients (as of %s, %d-month horizon) into the scores table in %s: mean risk this month %.1f%%, %s at 10%% or more\n",
		prefix, count(len(b.Scores)), b.Run.AsOf.Format(time.DateOnly), b.Run.Horizon, seconds(el), 100*mean, count(high))
	if len(b.Refused) > 0 {
		fmt.Fprintf(e.stderr, "warning: %d patients could not be scored and are not in the scores table; the model refused their %s\n",
			b.Enrolled-len(b.Scores), byField(b.Refused))
	}
	if len(b.Unseen) > 0 {
		fmt.Fprintf(e.stderr, "warning: patients with a level the model did not see in training, scored by the spec's batch policy (the reference level, unless it refuses them): %s\n",
			byField(b.Unseen))
	}
	if csvFile != nil {
		if err := csvFile.commit(); err != nil {
			return fmt.Errorf("the scores table is written, but %s is not: %w", csvPath, err)
		}
		fmt.Fprintf(e.stdout, "%swrote %s\n", prefix, csvPath)
	}
	return nil
}

// pendingFile is a file written in full under a temporary name, waiting to
// be renamed into place.
type pendingFile struct{ tmp, path string }

// commit renames the file into place.
func (f *pendingFile) commit() error { return os.Rename(f.tmp, f.path) }

// discard removes the temporary file if it was not committed.
func (f *pendingFile) discard() { os.Remove(f.tmp) }

// writeScoresCSV writes one row per patient with the summary and the whole
// hazard curve to a temporary file beside path; commit puts it in place, so
// a failure never leaves half a file.
func writeScoresCSV(path string, scores []caresignal.Score, preds []caresignal.Prediction) (*pendingFile, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".scores-*.csv")
	if err != nil {
		return nil, err
	}
	f := &pendingFile{tmp: tmp.Name(), path: path}
	if err := writeCSV(tmp, scores, preds); err != nil {
		tmp.Close()
		f.discard()
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		f.discard()
		return nil, err
	}
	return f, nil
}

func writeCSV(tmp *os.File, scores []caresignal.Score, preds []caresignal.Prediction) error {
	bw := bufio.NewWriter(tmp)
	w := csv.NewWriter(bw)
	header := []string{"patient_id", "months_enrolled", "hazard_next", "survival_end", "expected_months", "median_months"}
	if len(preds) > 0 {
		for i := range preds[0].Hazard {
			header = append(header, "hazard_"+strconv.Itoa(i+1))
		}
	}
	w.Write(header)
	f := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
	for i, s := range scores {
		median := ""
		if s.MedianMonths != nil {
			median = strconv.Itoa(*s.MedianMonths)
		}
		rec := []string{s.PatientID, strconv.Itoa(s.MonthsEnrolled), f(s.HazardNext), f(s.SurvivalEnd), f(s.ExpectedMonths), median}
		for _, h := range preds[i].Hazard {
			rec = append(rec, f(h))
		}
		w.Write(rec)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return tmp.Sync()
}

// byField lists counts by field name, "age (3), program (12)": names and
// counts only, never values, which are data.
func byField(counts map[string]int) string {
	out := make([]string, 0, len(counts))
	for field, n := range counts {
		out = append(out, fmt.Sprintf("%s (%d)", field, n))
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}
