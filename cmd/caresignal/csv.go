package main

import (
	"bufio"
	"encoding/csv"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/internal/atomicfile"
)

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

// writeExtractCSV writes a person-period extract to path, atomically: one
// row per patient-month with patient_id, month, status, event (0/1) and the
// feature columns; a missing value is an empty field.
func writeExtractCSV(path string, x *caresignal.Extract) error {
	return atomicfile.Write(path, func(out io.Writer) error {
		w := csv.NewWriter(out)
		w.Write(append([]string{"patient_id", "month", "status", "event"}, x.Columns...))
		rec := make([]string, 4+len(x.Columns))
		for _, r := range x.Rows {
			rec[0], rec[1], rec[2], rec[3] = r.PatientID, strconv.Itoa(r.Month), string(r.Status), "0"
			if r.Event {
				rec[3] = "1"
			}
			for j, v := range r.Values {
				rec[4+j] = ""
				if !v.Missing() {
					rec[4+j] = v.String()
				}
			}
			w.Write(rec)
		}
		w.Flush()
		return w.Error()
	})
}
