package main

import (
	"bufio"
	"encoding/csv"
	"os"
	"path/filepath"
	"strconv"

	"github.com/caresignal/caresignal"
)

// writeScoresCSV writes one row per patient with the summary and the whole
// hazard curve, through a temporary file renamed into place, so a failed
// write never leaves half a file.
func writeScoresCSV(path string, scores []caresignal.Score, preds []caresignal.Prediction) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".scores-*.csv")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
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
		tmp.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
