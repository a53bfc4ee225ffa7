package model

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestInputDefaultsAndRanges: an artifact saved before "whole" was kept
// (veteran, format 3) defaults karno to its training median and trt to its
// commonest level (2: 322 rows against 301 for the reference level 1), as
// the artifact's reference records them, and reads karno's training range
// from it. Without a reference, there is no range and karno falls back to
// its training mean.
func TestInputDefaultsAndRanges(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(artifactDir, "veteran_format3.model.json"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := Load(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defaults := map[string]string{}
	for _, in := range m.Inputs() {
		defaults[in.Name] = in.Default
	}
	if defaults["karno"] != "70" || defaults["trt"] != "2" {
		t.Errorf("defaults %v, want karno 70 (the median) and trt 2 (the commonest level)", defaults)
	}
	if lo, hi, ok := m.TrainingRange("karno"); !ok || lo != 10 || hi != 99 {
		t.Errorf("karno's training range %g to %g (%v), want 10 to 99", lo, hi, ok)
	}
	if _, _, ok := m.TrainingRange("trt"); ok {
		t.Error("a categorical input has a training range")
	}
	old := *m
	old.reference = nil
	if _, _, ok := old.TrainingRange("karno"); ok {
		t.Error("a model without a reference has a training range")
	}
	mean := old.Features.Features[0].Center
	if old.Features.Spec.Features[0].Transform == "none" {
		mean = old.Features.Features[0].TrainMean
	}
	if got := old.Inputs()[0].Default; got == "" || got == "70" && mean != 70 {
		t.Errorf("without a reference karno defaults to %q (training mean %g)", got, mean)
	}
}
