package web

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/feature"
	"github.com/caresignal/caresignal/internal/access"
	"github.com/caresignal/caresignal/internal/sqlite"
	"github.com/caresignal/caresignal/internal/sqlstore"
	"github.com/caresignal/caresignal/model"
	"github.com/caresignal/caresignal/monitor"
	"github.com/caresignal/caresignal/serving"
	"github.com/caresignal/caresignal/synth"
)

// The browser tests' server runs in this test binary (httptest over TLS)
// rather than as the built binary (cmd/caresignal): the handler is the
// one serve wires, and here the test holds the store, so that it can make
// keys for any role on demand, build the data the pages show with the
// library calls the demo makes, and later read back what a page did (a
// contact recorded, an export audited) without a second process. What
// serve adds around the handler (flags, the listener, shutdown) has its
// own tests in cmd/caresignal.

// browserServer is a production-mode server over TLS on 127.0.0.1 with a
// certificate of its own, on an embedded database holding what the demo
// makes: a synthetic program, a model trained and published on it,
// monthly scoring runs followed up to the data's end, and an evaluation
// report. It is built once per test binary and shared by the browser
// tests; each test logs in with a browser session of its own.
type browserServer struct {
	srv     *httptest.Server
	store   *sqlstore.Store
	model   *model.Model
	keyring *access.Keyring
	dir     string // the database and the report files
	logs    *syncBuffer

	mu   sync.Mutex
	keys map[string]string // role → plaintext key, made on first use
}

// browserCert is the server's self-signed certificate and the hash of its
// public key, which is all the browser is told to accept beyond its own
// trust store.
type browserCert struct {
	cert tls.Certificate
	spki string // base64 of the SHA-256 of the SubjectPublicKeyInfo
}

// newBrowserCert makes a self-signed certificate for 127.0.0.1, valid for
// an hour.
func newBrowserCert() (*browserCert, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "caresignal browser test"},
		NotBefore:    now.Add(-time.Minute),
		NotAfter:     now.Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(leaf.RawSubjectPublicKeyInfo)
	return &browserCert{
		cert: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf},
		spki: base64.StdEncoding.EncodeToString(sum[:]),
	}, nil
}

// browserData sizes the program the browser tests' server holds: small
// enough to build in a few seconds, large enough that the worklist has a
// full page and the evaluation report measures its outcome metrics.
var browserData = struct {
	patients int
	seed     uint64
	followUp int // months from training to the data's end, one scoring run each
}{patients: 1500, seed: 42, followUp: 3}

// startBrowserServer builds the data, as caresignal demo does, and starts
// the server with cert.
func startBrowserServer(cert *browserCert) (_ *browserServer, err error) {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "caresignal-browser-server")
	if err != nil {
		return nil, err
	}
	f := &browserServer{dir: dir, logs: &syncBuffer{}, keys: map[string]string{}}
	defer func() {
		if err != nil {
			f.close()
		}
	}()
	if f.store, err = sqlite.Open(ctx, filepath.Join(dir, "browser.db")); err != nil {
		return nil, err
	}
	if f.model, err = buildDemoData(ctx, f.store, dir); err != nil {
		return nil, fmt.Errorf("building the demo data: %w", err)
	}
	if f.keyring, err = access.NewKeyring(ctx, f.store, time.Minute); err != nil {
		return nil, err
	}
	h := NewHandler(Config{Model: f.model, Store: f.store, Logger: slog.New(slog.NewJSONHandler(f.logs, nil)), Mode: "prod",
		Access: &Access{Keys: f.keyring, Store: f.store, SecureCookies: true}})
	f.srv = httptest.NewUnstartedServer(h)
	f.srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert.cert}, MinVersion: tls.VersionTLS12}
	f.srv.StartTLS()
	return f, nil
}

// buildDemoData runs the demo's steps on store: generate and load the
// cohort, run the ELT as of followUp months before the data's end, train
// and publish the model, score, then month by month bring the data up to
// date and score again, and store the evaluation report of the first
// run's patients followed up to the end.
func buildDemoData(ctx context.Context, store *sqlstore.Store, dir string) (*model.Model, error) {
	cfg := synth.Sized(browserData.patients, browserData.seed)
	trainAt := cfg.AsOf.AddDate(0, -browserData.followUp, 0)
	c, err := synth.Generate(cfg, nil)
	if err != nil {
		return nil, err
	}
	if err := store.ReplaceSource(ctx, &c.Source, nil); err != nil {
		return nil, err
	}
	if _, err := store.RunELT(ctx, trainAt); err != nil {
		return nil, err
	}
	x, err := store.TrainingExtract(ctx)
	if err != nil {
		return nil, err
	}
	spec, err := feature.ParseSpecBytes(caresignal.EngagementSpec)
	if err != nil {
		return nil, err
	}
	m, err := model.Train(ctx, spec, x, model.TrainOptions{Penalty: model.PenaltyL2, Lambda: 1})
	if err != nil {
		return nil, err
	}
	b, err := m.Marshal()
	if err != nil {
		return nil, err
	}
	if _, err := store.PublishModel(ctx, caresignal.ModelVersion{Name: m.Name, Version: m.Version}, b, "browser test"); err != nil {
		return nil, err
	}
	score := func() error {
		b, err := serving.ScoreBatch(ctx, store, m, serving.BatchOptions{})
		if err != nil {
			return err
		}
		return b.Store(ctx, store)
	}
	if err := score(); err != nil {
		return nil, err
	}
	for k := 1; k <= browserData.followUp; k++ {
		if _, err := store.RunELT(ctx, trainAt.AddDate(0, k, 0)); err != nil {
			return nil, err
		}
		if err := score(); err != nil {
			return nil, err
		}
	}
	rep, err := monitor.BuildReport(ctx, store, monitor.ReportOptions{Bootstrap: -1})
	if err != nil {
		return nil, err
	}
	if err := rep.Save(ctx, store, filepath.Join(dir, "report.json"), filepath.Join(dir, "report.html")); err != nil {
		return nil, err
	}
	return m, nil
}

// key returns a valid API key of role, making it on first use.
func (f *browserServer) key(role string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if k, ok := f.keys[role]; ok {
		return k, nil
	}
	plain, k, hash, err := access.NewKey(role+"-browser", role, time.Now())
	if err != nil {
		return "", err
	}
	ctx := context.Background()
	if err := f.store.CreateKey(ctx, k, hash); err != nil {
		return "", err
	}
	// The keyring would find it by itself on a miss, at most so often;
	// a test should not depend on when.
	if err := f.keyring.Reload(ctx); err != nil {
		return "", err
	}
	f.keys[role] = plain
	return plain, nil
}

func (f *browserServer) close() {
	if f.srv != nil {
		f.srv.Close()
	}
	if f.store != nil {
		f.store.Close()
	}
	os.RemoveAll(f.dir)
}
