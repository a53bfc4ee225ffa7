package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/internal/atomicfile"
)

func runExtract(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "extract", "", "Write the training extract that train reads — one row per patient per complete month at risk,\nwith its status, 0/1 event and features — to a CSV file, to fit or check the model elsewhere.\nThe file holds patient ids: treat it as health data.")
	var d dataFlags
	d.register(fs, e)
	out := fs.String("out", "", "CSV file to write (required)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *out == "" {
		fmt.Fprintln(e.stderr, "extract: --out is required")
		fs.Usage()
		return errUsage
	}
	store, _, err := d.open(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	x, err := store.TrainingExtract(ctx)
	if err != nil {
		return err
	}
	if err := writeExtractCSV(*out, x); err != nil {
		return fmt.Errorf("writing %s: %w", *out, err)
	}
	fmt.Fprintf(e.stdout, "wrote %s person-period rows with %d feature columns to %s\n", count(len(x.Rows)), len(x.Columns), *out)
	return nil
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
