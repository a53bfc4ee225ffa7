package predlog

import (
	"bufio"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/caresignal/caresignal"
)

// TestSpillKeepsItemsByteForByte: a record that goes through the spill
// file comes back with its items as they were, white space, newlines and
// characters encoding/json would escape included, one line per record.
func TestSpillKeepsItemsByteForByte(t *testing.T) {
	items := "[{\"patient_id\":\"P<1>&\",\"inputs\":{\"features\":  {\"age\": 54,\n \"note\": \"a < b & c\"}},\"outputs\":{\"hazard\":[0.1]}}]"
	recs := []caresignal.RequestRecord{
		{ID: "a", At: time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC), Model: "m", Version: "v", Route: "POST /api/engagement", Kind: "patient", RequestID: "r", Instances: 1, Items: []byte(items)},
		{ID: "b", Model: "m", Version: "v", Route: "r", Kind: "patient", Instances: 1, Items: []byte("{not json")},
	}
	path := filepath.Join(t.TempDir(), spillName)
	bad, err := appendLines(path, recs, true)
	if err != nil || len(bad) != 1 || bad[0].ID != "b" {
		t.Fatalf("appendLines: %v, left out %v", err, bad)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	var got []caresignal.RequestRecord
	for sc.Scan() {
		rec, err := readLine(sc.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, rec)
	}
	if len(got) != 1 || string(got[0].Items) != items || got[0].ID != "a" || !got[0].At.Equal(recs[0].At) || got[0].Instances != 1 {
		t.Errorf("read back %+v\nitems %q", got, got[0].Items)
	}
	// A line in the form written before (items as JSON) still reads.
	old := `{"id":"c","at":"2026-12-06T09:00:00Z","model":"m","version":"v","route":"r","kind":"patient","request_id":"","instances":1,"items":[{"inputs":{},"outputs":{}}]}`
	if rec, err := readLine([]byte(old)); err != nil || string(rec.Items) != `[{"inputs":{},"outputs":{}}]` || rec.ID != "c" {
		t.Errorf("an earlier line: %+v %v", rec, err)
	}
}
