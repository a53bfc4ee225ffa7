package predlog

import (
	"bufio"
	"bytes"
	"encoding/json"
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

// TestJournalLineIsJSONs: the journal's hand-written line is the bytes
// encoding/json writes for the spill file's line, whatever the strings
// hold, and reads back as the record.
func TestJournalLineIsJSONs(t *testing.T) {
	for _, rec := range []caresignal.RequestRecord{
		{ID: "r1", At: time.Date(2026, 12, 6, 9, 30, 1, 123456789, time.UTC), Model: "engagement", Version: "v1", Route: "POST /api/engagement",
			Kind: "patient", RequestID: "q", Instances: 1, Items: json.RawMessage(`[{"patient_id":"P1","inputs":{"age":54}}]`)},
		{ID: "r2\u2028<&>", At: time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600)), Model: "m\"\\\n\t\x01", Version: "\xff", Route: "é",
			Kind: "whatif", RequestID: "", Instances: 3, Items: json.RawMessage("[ {\"a\" : \"\xff\"} ]")},
	} {
		var want bytes.Buffer
		line := spilled{RequestRecord: rec, ItemsBytes: rec.Items}
		line.Items = nil
		if err := json.NewEncoder(&want).Encode(&line); err != nil {
			t.Fatal(err)
		}
		got := appendLine(nil, &rec)
		if !bytes.Equal(got, want.Bytes()) {
			t.Errorf("record %q:\n got %s\nwant %s", rec.ID, got, want.Bytes())
		}
		back, err := readLine(bytes.TrimSuffix(got, []byte("\n")))
		if err != nil || string(back.Items) != string(rec.Items) || back.Instances != rec.Instances || !back.At.Equal(rec.At) {
			t.Errorf("record %q read back as %+v (%v)", rec.ID, back, err)
		}
	}
}
