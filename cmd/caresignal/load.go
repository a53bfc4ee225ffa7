package main

import (
	"context"
	"fmt"
	"time"

	"github.com/caresignal/caresignal/internal/sourcecsv"
)

func runLoad(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "load", "DIR", `Load the source tables from the CSV files in DIR: patients.csv, engagement_events.csv and
disenrolments.csv, each with a header row naming the table's columns (docs/data.md; dates YYYY-MM-DD,
an empty baseline_score for none). Every row of every file is checked first, and nothing is written
if any is refused: the error names the file, line and column. The load then replaces the source
tables in one transaction and empties what was derived from them (person_period, ELT runs, scores),
as "caresignal generate" does; run "caresignal etl" next.

Example:
  caresignal load ./export && caresignal etl && caresignal train`)
	var d dataFlags
	d.register(fs, e)
	dirs, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(dirs) != 1 {
		fmt.Fprintln(e.stderr, "load: want one directory holding "+sourcecsv.PatientsFile+", "+sourcecsv.EventsFile+" and "+sourcecsv.DisenrolmentsFile)
		fs.Usage()
		return errUsage
	}
	dir := dirs[0]
	p := newProgress(e.stderr, "checking "+dir, "rows")
	start := time.Now()
	src, err := sourcecsv.Read(dir, p.Set)
	p.Finish()
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "checked %s patients, %s engagement events and %s disenrolments in %s\n",
		count(len(src.Patients)), count(len(src.Events)), count(len(src.Disenrolments)), seconds(time.Since(start)))
	store, where, err := d.open(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	p = newProgress(e.stderr, "loading", "rows")
	err = store.ReplaceSource(ctx, src, p.Set)
	el := p.Finish()
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "loaded %s source rows into %s in %s (the derived tables are empty until caresignal etl runs)\n",
		count(len(src.Patients)+len(src.Events)+len(src.Disenrolments)), where, seconds(el))
	return nil
}
