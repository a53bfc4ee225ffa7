// Package serverless runs caresignal's HTTP surface as a function: an AWS
// Lambda entry point answering API Gateway REST API (v1) and HTTP API
// (v2) proxy events ([Function.Invoke], started by "caresignal lambda"),
// and a Google Cloud Functions HTTP entry point ([HTTP]).
//
// Both serve the very handler the server serves (web.NewHandler), so an
// answer, its status and its headers are the server's, byte for byte, and
// API keys are checked as the server checks them; the Lambda entry only
// translates a gateway's event into an *http.Request and the recorded
// answer into the gateway's response event. What differs is the
// lifetime: an instance is set up once (the model loaded from the
// artifact bundled with the function or from the registry), then serves
// invocations one after another, and may be frozen as soon as one
// returns; so the prediction log is flushed before each invocation
// returns.
package serverless

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/internal/access"
	"github.com/caresignal/caresignal/internal/dbopen"
	"github.com/caresignal/caresignal/internal/postgres"
	"github.com/caresignal/caresignal/internal/predlog"
	"github.com/caresignal/caresignal/internal/web"
	"github.com/caresignal/caresignal/model"
	"github.com/caresignal/caresignal/serving"
)

// ModelFileName is the artifact's name when it is bundled with the
// function and CARESIGNAL_MODEL does not say where it is.
const ModelFileName = "engagement.model.json"

// Config is how a function instance is set up; [ConfigFromEnv] reads it
// from the environment, the only configuration a function has.
type Config struct {
	// Mode is "prod" (API keys, or the gateway's authorizer) or "dev" (no
	// access control), which must be chosen explicitly: a function's
	// address is public by nature.
	Mode string
	// DB is a postgres:// URL or a SQLite file path; empty: no database,
	// hence no prediction log, no registry and no API keys.
	DB string
	// ModelPath is the artifact file; with a database whose registry has
	// a production version of the same model, that version is served.
	ModelPath string
	// TrustGateway makes the function trust the API gateway's
	// authorizer instead of checking API keys: an event whose request
	// context carries an authorizer's identity is served with the predict
	// role, one without is refused (401).
	TrustGateway bool
	// PseudonymKey, when set, replaces patient ids in the prediction log
	// with their keyed hash.
	PseudonymKey string
	// SpillDir is where the prediction log keeps records the database
	// cannot take (a function may write only under /tmp on AWS Lambda).
	SpillDir string
	// Logger receives the function's logs; nil: JSON lines on stderr.
	Logger *slog.Logger
}

// ConfigFromEnv reads a Config from the environment: CARESIGNAL_MODE
// (prod unless dev is given), CARESIGNAL_DB (else DATABASE_URL, a
// postgres:// URL), CARESIGNAL_MODEL (default: ModelFileName beside the
// executable, else in the working directory),
// CARESIGNAL_TRUST_GATEWAY_AUTHORIZER (true or false),
// CARESIGNAL_PSEUDONYM_KEY and CARESIGNAL_SPILL_DIR (default
// <temporary directory>/caresignal-spill).
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	c := Config{
		Mode:         getenv("CARESIGNAL_MODE"),
		DB:           getenv("CARESIGNAL_DB"),
		ModelPath:    getenv("CARESIGNAL_MODEL"),
		PseudonymKey: getenv("CARESIGNAL_PSEUDONYM_KEY"),
		SpillDir:     getenv("CARESIGNAL_SPILL_DIR"),
	}
	if c.Mode == "" {
		c.Mode = "prod"
	}
	if c.DB == "" {
		if u := getenv("DATABASE_URL"); u != "" {
			if !postgres.IsDSN(u) {
				return c, caresignal.Invalidf("db", "DATABASE_URL must be a postgres:// (or postgresql://) URL; give a SQLite file with CARESIGNAL_DB instead")
			}
			c.DB = u
		}
	}
	if v := getenv("CARESIGNAL_TRUST_GATEWAY_AUTHORIZER"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return c, caresignal.Invalidf("trust-gateway-authorizer", "CARESIGNAL_TRUST_GATEWAY_AUTHORIZER must be true or false, got %q", v)
		}
		c.TrustGateway = b
	}
	if c.ModelPath == "" {
		c.ModelPath = ModelFileName
		if exe, err := os.Executable(); err == nil {
			if p := filepath.Join(filepath.Dir(exe), ModelFileName); fileExists(p) {
				c.ModelPath = p
			}
		}
	}
	if c.SpillDir == "" {
		c.SpillDir = filepath.Join(os.TempDir(), "caresignal-spill")
	}
	return c, c.Validate()
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// Validate refuses a configuration that would serve without access
// control by accident, or could not check what it is asked to.
func (c Config) Validate() error {
	switch c.Mode {
	case "prod":
		if !c.TrustGateway && c.DB == "" {
			return caresignal.Invalidf("mode", "production mode checks API keys against the database, and none is given: set CARESIGNAL_DB (or DATABASE_URL) to the database holding the keys, or trust the API gateway's authorizer with CARESIGNAL_TRUST_GATEWAY_AUTHORIZER=true; development mode (no access control) must be chosen explicitly with CARESIGNAL_MODE=dev")
		}
	case "dev":
		if c.TrustGateway {
			return caresignal.Invalidf("mode", "CARESIGNAL_TRUST_GATEWAY_AUTHORIZER=true has no meaning in development mode, where anyone may do anything: drop one of CARESIGNAL_MODE=dev and CARESIGNAL_TRUST_GATEWAY_AUTHORIZER")
		}
	default:
		return caresignal.Invalidf("mode", "CARESIGNAL_MODE must be prod or dev, got %q", c.Mode)
	}
	if c.PseudonymKey != "" && len(c.PseudonymKey) < 16 {
		return caresignal.Invalidf("pseudonym-key", "CARESIGNAL_PSEUDONYM_KEY must be at least 16 characters (a random secret)")
	}
	return nil
}

// A Function is one instance of the function: the server's handler over
// the model, set up once, and what it must flush after each invocation.
type Function struct {
	h     *web.Handler
	log   *slog.Logger
	store caresignal.Store // nil without a database
	plog  *predlog.Logger  // nil without a database
	stop  context.CancelFunc
	// Model is the production model served when the instance started.
	Model *model.Model
}

// registryPoll and keyRefresh are the server's defaults: how often a
// thawed instance reads the registry's serving state and the API keys.
const (
	registryPoll = time.Second
	keyRefresh   = 10 * time.Second
)

// New sets up an instance: opens the database (if any), loads the model,
// starts the prediction log and the key ring, and builds the handler.
func New(ctx context.Context, c Config) (_ *Function, err error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	log := c.Logger
	if log == nil {
		log = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	f := &Function{log: log}
	bg, stop := context.WithCancel(context.Background())
	f.stop = stop
	defer func() {
		if err != nil {
			f.Close(context.Background()) // what was opened before the failure
		}
	}()
	if c.DB != "" {
		if f.store, err = openStore(ctx, c.DB); err != nil {
			return nil, err
		}
	}
	fromRegistry := false
	if f.store != nil {
		f.Model, fromRegistry, err = serving.StartingModel(ctx, f.store, c.ModelPath)
	} else {
		f.Model, err = model.LoadFile(c.ModelPath)
	}
	if err != nil {
		return nil, fmt.Errorf("loading the model (CARESIGNAL_MODEL %s): %w", c.ModelPath, err)
	}
	models := serving.NewModels(f.Model)
	cfg := web.Config{Models: models, Store: f.store, Logger: log, Mode: c.Mode, PseudonymKey: []byte(c.PseudonymKey)}
	if f.store != nil {
		if !fromRegistry {
			// As serve does: logged predictions are rescored by the version
			// they name, which must then be in the registry.
			if err := ensurePublished(ctx, f.store, c.ModelPath, f.Model); err != nil {
				return nil, err
			}
		}
		dep := serving.NewDeployer(f.store, models, f.Model.Name, log)
		if _, err := dep.Sync(ctx); err != nil {
			return nil, fmt.Errorf("reading the model registry: %w", err)
		}
		// While the instance is frozen its goroutines are too; on a thaw
		// the ticker fires and the registry is read again within a poll.
		go dep.Run(bg, registryPoll)
		cfg.Deployer = dep
		if f.plog, err = predlog.New(f.store, predlog.Options{SpillDir: c.SpillDir, Logger: log}); err != nil {
			return nil, err
		}
		cfg.PredictionLog = f.plog
	}
	if c.Mode == "prod" {
		// TLS ends at the gateway (API Gateway's and Cloud Functions'
		// endpoints are HTTPS only): cookies are marked Secure.
		a := &web.Access{Store: f.store, SecureCookies: true}
		if c.TrustGateway {
			a.Gateway = gatewayPrincipal
		} else {
			keys, err := access.NewKeyring(ctx, f.store, keyRefresh)
			if err != nil {
				return nil, err
			}
			if all, _ := keys.Active(); all == 0 {
				return nil, caresignal.Invalidf("mode", "production mode checks API keys and the database holds no active key: create one with\n  caresignal keys create --role predict --name <who>")
			}
			go keys.Run(bg, func(err error) { log.Warn("re-reading API keys", "err", err) })
			a.Keys = keys
		}
		cfg.Access = a
	}
	f.h = web.NewHandler(cfg)
	return f, nil
}

// openStore opens a postgres:// URL or a SQLite file.
func openStore(ctx context.Context, db string) (caresignal.Store, error) {
	s, _, err := dbopen.Open(ctx, db, "", "CARESIGNAL_DB")
	return s, err
}

// ensurePublished publishes the bundled artifact to the registry unless
// its version is there already.
func ensurePublished(ctx context.Context, store caresignal.Store, path string, m *model.Model) error {
	_, _, err := model.EnsurePublished(ctx, store, path, m, "published by a serverless function, whose predictions are logged", "function")
	return err
}

// ServeHTTP serves one request with the server's handler, then flushes
// the prediction log: the records of the answer are stored (or spilled
// to disk) before it returns, since the platform may freeze the instance
// as soon as it does.
func (f *Function) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.h.ServeHTTP(w, r)
	f.Flush(r.Context())
}

// Flush stores the prediction log's queued records; a failure is logged,
// since the answer is already written: the records are then in the spill
// file, or still queued for the next invocation.
func (f *Function) Flush(ctx context.Context) {
	if f.plog == nil {
		return
	}
	// The invocation's own deadline may be near; the records matter more
	// than a few milliseconds past it, within bounds.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := f.plog.Flush(ctx); err != nil {
		f.log.Error("flushing the prediction log", "err", err)
	}
}

// Close stops the instance: the background readers, the prediction log
// (storing what is queued) and the database.
func (f *Function) Close(ctx context.Context) error {
	f.stop()
	var errs []error
	if f.plog != nil {
		errs = append(errs, f.plog.Close(ctx))
	}
	if f.store != nil {
		errs = append(errs, f.store.Close())
	}
	return errors.Join(errs...)
}
