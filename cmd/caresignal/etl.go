package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/caresignal/caresignal"
)

func runETL(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "etl", "", "Build the person-period table inside the database from the source tables: one row per patient per\nmonth at risk, with the features known at the start of the month.")
	var d dataFlags
	d.register(fs, e)
	var asOf dateFlag
	fs.Var(&asOf, "as-of", "first day not in the data, YYYY-MM-DD (default: the day after the latest source date)")
	if err := parse(fs, args); err != nil {
		return err
	}
	store, _, err := d.open(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	_, err = stepETL(ctx, e, "", store, asOf.t)
	return err
}

func stepETL(ctx context.Context, e *env, prefix string, store caresignal.Store, asOf time.Time) (caresignal.ELTResult, error) {
	p := newProgress(e.stderr, "ELT", "")
	p.Tick("building person_period")
	res, err := store.RunELT(ctx, asOf)
	el := p.Finish()
	if err != nil {
		return res, err
	}
	var parts []string
	for _, st := range statusOrder {
		parts = append(parts, fmt.Sprintf("%s %s", count(res.ByStatus[st]), st))
	}
	fmt.Fprintf(e.stdout, "%sELT as of %s: person_period has %s rows (%s) in %s\n", prefix,
		res.AsOf.Format(time.DateOnly), count(res.Rows), strings.Join(parts, ", "), seconds(el))
	return res, nil
}
