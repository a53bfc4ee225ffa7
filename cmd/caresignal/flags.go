package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/internal/dbopen"
	"github.com/caresignal/caresignal/internal/postgres"
	"github.com/caresignal/caresignal/model"
)

// Defaults shared by the commands.
const (
	defaultDataDir = "caresignal-data"
	defaultAddr    = "127.0.0.1:8080"
	dbFileName     = "caresignal.db"
	modelFileName  = "engagement.model.json"
)

func codeVersion() string { return model.CodeVersion() }

// newFlagSet returns a flag set whose usage prints the command's synopsis
// and flags.
func newFlagSet(e *env, name, argsHelp, doc string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "Usage: caresignal %s [flags] %s\n\n%s\n\nFlags:\n", name, argsHelp, doc)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args, returning flag.ErrHelp for -h and errUsage for a bad
// command line (the flag package has printed why).
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return errUsage
	}
	return nil
}

// parseArgs parses a command line of flags and positional arguments in any
// order ("inspect MODEL --json" as well as "inspect --json MODEL") and
// returns the positional ones.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for rest := args; ; {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, errUsage
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		rest = fs.Args()[1:]
	}
}

// envDefault returns the environment variable's value, or def.
func envDefault(e *env, key, def string) string {
	if v := e.getenv(key); v != "" {
		return v
	}
	return def
}

// dataFlags are the flags that locate the data: the database and folder.
type dataFlags struct {
	dataDir string
	db      string
	// databaseURL is DATABASE_URL when it gives the database (CARESIGNAL_DB
	// unset): platforms such as Heroku set it for their PostgreSQL add-on.
	databaseURL string
}

func (d *dataFlags) register(fs *flag.FlagSet, e *env) {
	fs.StringVar(&d.dataDir, "data-dir", envDefault(e, "CARESIGNAL_DATA_DIR", defaultDataDir),
		"folder for the embedded database and model files (env CARESIGNAL_DATA_DIR)")
	db := envDefault(e, "CARESIGNAL_DB", "")
	if db == "" {
		d.databaseURL = e.getenv("DATABASE_URL")
		db = d.databaseURL
	}
	fs.StringVar(&d.db, "db", db,
		"database: a postgres:// URL, or a SQLite file path (default <data-dir>/"+dbFileName+") (env CARESIGNAL_DB; else DATABASE_URL, which must then be a postgres:// URL)")
	// -h must not print a password taken from the environment.
	fs.Lookup("db").DefValue = ""
}

func (d *dataFlags) modelPath() string { return filepath.Join(d.dataDir, modelFileName) }

// kind names the database kind, for the model's training record (which
// must not carry addresses or paths).
func (d *dataFlags) kind() string {
	if postgres.IsDSN(d.db) {
		return "postgres"
	}
	return "sqlite"
}

// open opens the database the flags name.
func (d *dataFlags) open(ctx context.Context) (caresignal.Store, string, error) {
	if d.databaseURL != "" && d.db == d.databaseURL && !postgres.IsDSN(d.db) {
		// DATABASE_URL is a convention many programs share: a value meant
		// for another database must not become a SQLite file of that name.
		// Only a plain scheme is shown: the rest may hold a password.
		what := "it is not a URL"
		if scheme, _, ok := strings.Cut(d.db, "://"); ok && len(scheme) <= 20 && !strings.ContainsAny(scheme, ":@/ ") {
			what = "its scheme is " + strconv.Quote(scheme)
		} else if ok {
			what = "it is not one"
		}
		return nil, "", caresignal.Invalidf("db", "DATABASE_URL must be a postgres:// (or postgresql://) URL, as a platform's PostgreSQL add-on gives, and %s; give the database with --db or CARESIGNAL_DB instead", what)
	}
	return dbopen.Open(ctx, d.db, filepath.Join(d.dataDir, dbFileName), "--db")
}

// dateFlag is a flag holding a calendar date (YYYY-MM-DD); zero when unset.
type dateFlag struct{ t time.Time }

func (d *dateFlag) String() string {
	if d == nil || d.t.IsZero() {
		return ""
	}
	return d.t.Format(time.DateOnly)
}

func (d *dateFlag) Set(s string) error {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return fmt.Errorf("want a date as YYYY-MM-DD, got %q", s)
	}
	d.t = t
	return nil
}

// seconds formats a duration for step lines.
func seconds(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + "s" }

// envFloat is envDefault for a number; a value that does not parse gives
// NaN, which the flag's validation refuses by name.
func envFloat(e *env, key string, def float64) float64 {
	v := e.getenv(key)
	if v == "" {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return math.NaN()
	}
	return f
}

// pseudonymKey is CARESIGNAL_PSEUDONYM_KEY, which every command that
// writes or matches the prediction log's patient ids uses alike.
func pseudonymKey(e *env) ([]byte, error) {
	k := envDefault(e, "CARESIGNAL_PSEUDONYM_KEY", "")
	return []byte(k), checkPseudonymKey(k)
}

func checkPseudonymKey(k string) error {
	if k != "" && len(k) < 16 {
		return caresignal.Invalidf("pseudonym-key", "CARESIGNAL_PSEUDONYM_KEY must be at least 16 characters (a random secret)")
	}
	return nil
}
