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

With --append it adds to the tables instead, and keeps what was derived from them (the scores'
history): patients and disenrolments not loaded before, and the events dated after the latest event
date already loaded, or of a patient new in this load. The files may hold the whole export or only
what is new (events and disenrolments may then name patients loaded before). A patient or
disenrolment loaded before with other values is refused: an append changes nothing loaded.

Example:
  caresignal load ./export && caresignal etl && caresignal train`)
	var d dataFlags
	d.register(fs, e)
	appendRows := fs.Bool("append", false, "add what is new since the last load instead of replacing the tables (the derived tables are kept)")
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
	store, where, err := d.open(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	var known map[string]time.Time
	if *appendRows {
		if known, err = store.KnownPatients(ctx); err != nil {
			return err
		}
	}
	p := newProgress(e.stderr, "checking "+dir, "rows")
	start := time.Now()
	src, err := sourcecsv.ReadAppend(dir, known, p.Set)
	p.Finish()
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "checked %s patients, %s engagement events and %s disenrolments in %s\n",
		count(len(src.Patients)), count(len(src.Events)), count(len(src.Disenrolments)), seconds(time.Since(start)))
	if *appendRows {
		p = newProgress(e.stderr, "appending", "rows")
		res, err := store.AppendSource(ctx, src, p.Set)
		el := p.Finish()
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "appended %s patients, %s engagement events and %s disenrolments to %s in %s\n",
			count(res.Patients), count(res.Events), count(res.Disenrolments), where, seconds(el))
		if !res.Through.IsZero() {
			fmt.Fprintf(e.stdout, "already loaded: %s patients and %s disenrolments alike, %s events of known patients dated on or before %s (the latest event date loaded before); run caresignal etl next\n",
				count(res.SamePatients), count(res.SameDisenrolments), count(res.OldEvents), res.Through.Format(time.DateOnly))
		}
		return nil
	}
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
