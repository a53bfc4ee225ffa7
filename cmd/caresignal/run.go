package main

import (
	"context"
	"flag"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/serving"
)

// cadence is how often the scheduled work runs: the one setting the
// schedulers (systemd timer, cron, a platform's scheduler) follow and the
// web app uses to call scores stale.
type cadence struct {
	d      time.Duration
	envErr error // CARESIGNAL_CADENCE did not parse
}

// defaultCadence is daily: care teams open the worklist every morning.
const defaultCadence = 24 * time.Hour

func (c *cadence) String() string {
	switch c.d {
	case 0:
		return ""
	case 24 * time.Hour:
		return "daily"
	case 7 * 24 * time.Hour:
		return "weekly"
	}
	return c.d.String()
}

func (c *cadence) Set(s string) error {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "daily":
		c.d = 24 * time.Hour
		return nil
	case "weekly":
		c.d = 7 * 24 * time.Hour
		return nil
	}
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil || d < time.Hour {
		return fmt.Errorf("want daily, weekly or a duration of at least 1h (e.g. 12h), got %q", s)
	}
	c.d = d
	return nil
}

// register adds --cadence (env CARESIGNAL_CADENCE, default daily) to fs.
func (c *cadence) register(fs *flag.FlagSet, e *env) {
	c.d = defaultCadence
	if v := e.getenv("CARESIGNAL_CADENCE"); v != "" {
		if err := c.Set(v); err != nil {
			c.envErr = caresignal.Invalidf("cadence", "CARESIGNAL_CADENCE: %v", err)
		}
	}
	fs.Var(c, "cadence", "how often the scheduled \"caresignal run\" runs: daily, weekly or a duration such as 12h; the web app calls\nscores stale when their as-of date is older than this plus a day (env CARESIGNAL_CADENCE)")
}

func runRun(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "run", "", `The scheduled work, in one idempotent command for an as-of date: the ELT, batch scoring of every
enrolled patient with the production model (the registry's, as the server serves it), and the
monitoring report (kept in the database for /monitoring and /metrics, and written to
<data-dir>/report.html and report.json). Every deployment schedules this command at the cadence
--cadence names (daily by default). Run again for an as-of date it has already done, it rebuilds
the person-period table and stops there, saying so (--force redoes the scoring and the report,
e.g. after the source was corrected).

Examples:
  caresignal run                       # as of the day after the latest source date
  caresignal run --as-of 2026-11-01`)
	var d dataFlags
	d.register(fs, e)
	var asOf dateFlag
	fs.Var(&asOf, "as-of", "first day not in the data, YYYY-MM-DD (default: the day after the latest date in the source tables)")
	modelPath := fs.String("model", envDefault(e, "CARESIGNAL_MODEL", ""), "model artifact, when the registry has no production model (default <data-dir>/"+modelFileName+") (env CARESIGNAL_MODEL)")
	force := fs.Bool("force", false, "score and report again even if this model already did for this as-of date")
	var cad cadence
	cad.register(fs, e)
	var r reportFlags
	r.register(fs, e, false)
	if err := parse(fs, args); err != nil {
		return err
	}
	if cad.envErr != nil {
		return cad.envErr
	}
	if *modelPath == "" {
		*modelPath = d.modelPath()
	}
	store, _, err := d.open(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	m, fromRegistry, err := serving.StartingModel(ctx, store, *modelPath)
	if err != nil {
		return fmt.Errorf("no model to score with: %w (train one, or publish and activate one in the registry)", err)
	}
	if !fromRegistry {
		if err := ensurePublished(ctx, e, store, *modelPath, m, "caresignal run"); err != nil {
			return err
		}
	}
	prev, _, prevErr := store.TopScores(ctx, 0)
	elt, err := stepETL(ctx, e, "[1/3] ", store, asOf.t)
	if err != nil {
		return err
	}
	if prevErr == nil && !prev.AsOf.IsZero() {
		if gap := elt.AsOf.Sub(prev.AsOf); gap > cad.d+24*time.Hour {
			fmt.Fprintf(e.stdout, "      the previous scoring run was as of %s, %d days before this one: more than the cadence (%s) allows, so runs were missed\n",
				prev.AsOf.Format(time.DateOnly), int(gap.Hours()/24), cad.String())
		}
	}
	if !*force && prevErr == nil && prev.Model.Version == m.Version && prev.AsOf.Equal(elt.AsOf) {
		ev, err := store.LatestEvaluation(ctx, m.Name)
		if err == nil && !ev.CreatedAt.Before(prev.ScoredAt) {
			fmt.Fprintf(e.stdout, "[2/3] already scored with %s@%s as of %s (at %s UTC), and reported since: nothing more to do (--force to redo)\n",
				m.Name, m.Version, elt.AsOf.Format(time.DateOnly), prev.ScoredAt.Format("2006-01-02 15:04"))
			return nil
		}
	}
	if err := stepScore(ctx, e, "[2/3] ", store, m, caresignal.DefaultHorizon, ""); err != nil {
		return err
	}
	r.htmlPath, r.jsonPath = filepath.Join(d.dataDir, "report.html"), filepath.Join(d.dataDir, "report.json")
	_, err = stepReport(ctx, e, "[3/3] ", store, &r)
	return err
}
