// Package predlog records every prediction the server answers without
// adding a database round trip to any request. A record holds one
// request's predictions (caresignal.RequestRecord); records go into a bounded
// in-memory queue, and one writer stores them in batches. When the
// database cannot take a batch, the batch is appended to a local spill
// file (JSON lines, synced to disk) and replayed, in order, once the
// database answers again; a record is stored at most once even if a
// replay is interrupted (records carry unique ids). When the queue is
// full, the request's own goroutine appends its records to the spill file,
// so a burst costs latency rather than records (a crash still loses what
// is queued in memory: see docs/operations.md). Close drains the queue,
// so a graceful shutdown loses nothing either.
//
// In the durable mode (Options.Durable) Log first appends its records to
// a local journal and returns only once the journal is synced, one fsync
// per group of concurrent requests (journal.go): an answer sent after Log
// returns then survives a crash, at the cost of the sync on the request's
// path. Journal files a crash leaves are replayed at the next start.
//
// A record the database refuses (caresignal.EINVALID from the sink: bytes
// it does not accept, a failed CHECK) would fail every batch it is in,
// however often retried; the writer splits such a batch in halves until
// each refused record is alone, stores the rest, and appends each refused
// record to the quarantine file (JSON lines, synced, never replayed), so
// that one bad record never holds back the others, from the queue or from
// a spill file alike.
package predlog

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/wire"
)

// Options tune a Logger; zero values take the defaults.
type Options struct {
	// SpillDir holds the spill files; required.
	SpillDir string
	// QueueSize bounds the records waiting in memory (default 4,096),
	// and QueueBytes their instances' bytes (default 16 MiB; a record
	// larger than that is taken when the queue is empty), so that a flood
	// of large batches cannot fill the memory while the writer is behind.
	QueueSize  int
	QueueBytes int
	// BatchSize is the most records stored in one transaction (default
	// 1,000); a batch also ends once its records hold BatchBytes of
	// instances (default 4 MiB), so that batches of large requests stay
	// small transactions.
	BatchSize  int
	BatchBytes int
	// FlushEvery is the longest a record waits for its batch (default 200ms).
	FlushEvery time.Duration
	// RetryEvery is how often a spilled log is offered to the database
	// again (default 2s).
	RetryEvery time.Duration
	// QueueWait is how long the writer may go without taking records
	// from a full queue, while the database is taking batches, before Log
	// stops waiting for room and spills (default 500ms; negative: never
	// wait).
	QueueWait time.Duration
	// WriteTimeout bounds one batch's write (default 5s).
	WriteTimeout time.Duration
	// Durable makes Log return only once its records are synced to a
	// local journal (see the package documentation).
	Durable bool
	// Registry receives the logger's metrics; nil: none.
	Registry prometheus.Registerer
	Logger   *slog.Logger
}

// Logger is the asynchronous prediction log.
type Logger struct {
	sink caresignal.PredictionLog
	opt  Options
	log  *slog.Logger

	queue  chan entry
	j      *journal      // the durable mode's journal; nil: not durable
	queued atomic.Int64  // bytes of items in queue
	kick   chan struct{} // wakes the writer (buffer of one)
	// room is closed (and replaced) when the writer takes records, to
	// wake every Log waiting for room at once.
	room atomic.Pointer[chan struct{}]
	// progress is when the writer last took records from the queue
	// (Unix nanoseconds).
	progress atomic.Int64
	done     chan struct{}
	closed   atomic.Bool
	closeMu  sync.RWMutex // held for reading while a record is enqueued

	spillMu  sync.Mutex // guards the spill file
	spilling atomic.Bool
	spillErr atomic.Pointer[string]

	// qMu guards the quarantine file, qRecords (the records it holds)
	// and qSeen (the ids set aside since the last complete replay, so
	// that a replay interrupted and run again does not set a record
	// aside twice).
	qMu      sync.Mutex
	qRecords int64
	qSeen    map[string]struct{}

	written, spilled, replayed, quarantined prometheus.Counter
	depth, depthBytes                       prometheus.GaugeFunc
	spillBytes, quarantineRecords           prometheus.GaugeFunc
}

// entry is a queued record, with its journal segment in the durable mode
// (else nil).
type entry struct {
	rec caresignal.RequestRecord
	seg *segment
	// flushed, when set, makes the entry a marker that Flush queued: the
	// writer stores (or spills) what it holds, syncs the spill file and
	// closes flushed.
	flushed chan struct{}
}

const spillName = "predictions.spill.jsonl"

// QuarantineName is the file, in the spill directory, holding the records
// the database refused. Its name does not start with "predictions." so
// that nothing takes it for a spill file.
const QuarantineName = "predictions-quarantined.jsonl"

// New starts a logger writing to sink. Spill files left by an earlier run
// (a database outage, a crash) are replayed first, in the background.
func New(sink caresignal.PredictionLog, opt Options) (*Logger, error) {
	if opt.SpillDir == "" {
		return nil, errors.New("predlog: a spill directory is required")
	}
	if err := os.MkdirAll(opt.SpillDir, 0o700); err != nil {
		return nil, fmt.Errorf("prediction log spill directory: %w", err)
	}
	if opt.QueueSize <= 0 {
		opt.QueueSize = 4096
	}
	if opt.QueueBytes <= 0 {
		opt.QueueBytes = 16 << 20
	}
	if opt.BatchSize <= 0 {
		opt.BatchSize = 1000
	}
	if opt.BatchBytes <= 0 {
		opt.BatchBytes = 4 << 20
	}
	if opt.FlushEvery <= 0 {
		opt.FlushEvery = 200 * time.Millisecond
	}
	if opt.RetryEvery <= 0 {
		opt.RetryEvery = 2 * time.Second
	}
	if opt.QueueWait == 0 {
		opt.QueueWait = 500 * time.Millisecond
	}
	if opt.WriteTimeout <= 0 {
		opt.WriteTimeout = 5 * time.Second
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	l := &Logger{sink: sink, opt: opt, log: opt.Logger,
		queue: make(chan entry, opt.QueueSize), kick: make(chan struct{}, 1), done: make(chan struct{})}
	room := make(chan struct{})
	l.room.Store(&room)
	l.written = prometheus.NewCounter(prometheus.CounterOpts{Name: "caresignal_prediction_log_written_total", Help: "Prediction records (one per request) stored in the database."})
	l.spilled = prometheus.NewCounter(prometheus.CounterOpts{Name: "caresignal_prediction_log_spilled_total", Help: "Prediction records (one per request) written to the local spill file because the database could not take them or the queue was full."})
	l.replayed = prometheus.NewCounter(prometheus.CounterOpts{Name: "caresignal_prediction_log_replayed_total", Help: "Spilled prediction records (one per request) stored in the database after it came back."})
	l.quarantined = prometheus.NewCounter(prometheus.CounterOpts{Name: "caresignal_prediction_log_quarantined_total", Help: "Prediction records (one per request) the database refused, set aside in the quarantine file."})
	l.quarantineRecords = prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "caresignal_prediction_log_quarantine_records", Help: "Records in the quarantine file (counted from this run's start; 0 once the file is moved away)."},
		func() float64 { return float64(l.Quarantined()) })
	l.depth = prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "caresignal_prediction_log_queue_depth", Help: "Prediction records (one per request) waiting in memory to be stored."},
		func() float64 { return float64(len(l.queue)) })
	l.depthBytes = prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "caresignal_prediction_log_queue_bytes", Help: "Bytes of the prediction records waiting in memory to be stored."},
		func() float64 { return float64(l.queued.Load()) })
	l.spillBytes = prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "caresignal_prediction_log_spill_bytes", Help: "Size of the spill files waiting to be replayed."},
		func() float64 { return float64(l.SpillBytes()) })
	if opt.Registry != nil {
		for _, c := range []prometheus.Collector{l.written, l.spilled, l.replayed, l.quarantined, l.depth, l.depthBytes, l.spillBytes, l.quarantineRecords} {
			if err := opt.Registry.Register(c); err != nil {
				return nil, err
			}
		}
	}
	// A journal left by an earlier run holds answered records that may
	// not have reached the database: they are replayed, whatever this
	// run's mode.
	if n, err := recoverJournal(opt.SpillDir); err != nil {
		return nil, err
	} else if n > 0 {
		l.log.Warn("prediction log: replaying the journal an earlier run left", "files", n)
	}
	if opt.Durable {
		j, err := newJournal(opt.SpillDir, opt.Registry, l.log.Error)
		if err != nil {
			return nil, err
		}
		l.j = j
	}
	if l.SpillBytes() > 0 {
		l.spilling.Store(true)
	}
	l.qRecords = countLines(filepath.Join(opt.SpillDir, QuarantineName))
	l.progress.Store(time.Now().UnixNano())
	go l.run()
	return l, nil
}

// Log records predictions. It never waits for the database: a record
// goes into the queue, or, when the queue is full, into the spill file.
// When the queue is full while the database is taking batches, the writer
// is only behind, and Log waits for room while the writer keeps taking
// records (up to QueueWait after its last progress): under a sustained
// flood the requests slow to the pace the database keeps, rather than
// every record taking the dearer way through the spill file (written,
// read back and stored). After Close it returns an error and records
// nothing. In the durable mode it first appends recs to the journal and
// waits for the sync; an error then means they are not kept, and the
// request must not be answered as served.
func (l *Logger) Log(recs ...caresignal.RequestRecord) error {
	l.closeMu.RLock()
	defer l.closeMu.RUnlock()
	if l.closed.Load() {
		return caresignal.Errorf(caresignal.EUNAVAILABLE, "the prediction log is closed")
	}
	var seg *segment
	if l.j != nil {
		var err error
		if seg, err = l.j.append(recs); err != nil {
			return err
		}
	}
	for i := range recs {
		e := entry{rec: recs[i], seg: seg}
		if l.enqueue(e) {
			continue
		}
		if !l.spilling.Load() && l.waitForRoom(e) {
			continue
		}
		// The database is not taking batches, or the writer stayed
		// behind: this call's remaining records go to the spill file in
		// one append. It is not synced here (the request would wait for
		// the disk); the writer's next spill, or Close, syncs the file,
		// and a process exit keeps what the kernel holds. In the durable
		// mode the journal already holds them, until the spill file is
		// synced.
		if err := l.spill(recs[i:], seg != nil); err != nil {
			if seg != nil {
				return nil // kept in the journal all the same
			}
			return err
		}
		if seg != nil {
			l.j.settleN(seg, len(recs)-i)
		}
		return nil
	}
	return nil
}

// enqueue queues rec if there is room for it, in records and in bytes,
// waking the writer once the queue is a quarter full.
func (l *Logger) enqueue(rec entry) bool {
	n := int64(len(rec.rec.Items))
	q := l.queued.Add(n)
	if q > int64(l.opt.QueueBytes) && q != n {
		l.queued.Add(-n)
		return false
	}
	select {
	case l.queue <- rec:
		if len(l.queue) == cap(l.queue)/4 || (q >= int64(l.opt.QueueBytes)/4 && q-n < int64(l.opt.QueueBytes)/4) {
			l.wake()
		}
		return true
	default:
		l.queued.Add(-n)
		return false
	}
}

// waitForRoom queues rec when room appears before the writer has made no
// progress for QueueWait (it is then stuck on the database).
func (l *Logger) waitForRoom(rec entry) bool {
	if l.opt.QueueWait < 0 {
		return false
	}
	l.wake()
	t := time.NewTicker(min(l.opt.QueueWait/4, 5*time.Millisecond))
	defer t.Stop()
	for {
		room := *l.room.Load() // before trying, so that room made meanwhile is not missed
		if l.enqueue(rec) {
			return true
		}
		select {
		case <-room:
		case now := <-t.C:
			if now.UnixNano()-l.progress.Load() > int64(l.opt.QueueWait) {
				return false
			}
		}
	}
}

// run is the writer: it batches queued records, stores them, spills
// what the database refuses, and replays the spill file when it can.
//
// It does not wait on the queue record by record (every record would then
// wake it, a cost paid on the request's path): it takes whatever is
// queued, then sleeps for pollEvery, or until Log finds the queue a
// quarter full, or Close.
func (l *Logger) run() {
	defer close(l.done)
	batch := make([]caresignal.RequestRecord, 0, l.opt.BatchSize)
	segs := make([]*segment, 0, l.opt.BatchSize) // each record's journal segment
	size := 0                                    // bytes of items in batch
	took := false                                // records were taken since madeRoom
	var oldest time.Time                         // when the batch's first record was taken
	// storeBatch stores the batch and starts the next one empty.
	storeBatch := func() {
		l.store(batch, segs)
		batch, segs, size = batch[:0], segs[:0], 0
	}
	poll := time.NewTicker(pollEvery)
	defer poll.Stop()
	retry := time.NewTicker(l.opt.RetryEvery)
	defer retry.Stop()
	for {
	drain:
		for {
			select {
			case e, ok := <-l.queue:
				if !ok {
					// Closing: store the rest and make one attempt at the
					// spill file; what the database will not take stays on
					// disk for the next start to replay.
					storeBatch()
					if l.spilling.Load() {
						l.replay()
					}
					l.syncSpill()
					return
				}
				if e.flushed != nil {
					storeBatch()
					l.syncSpill()
					close(e.flushed)
					continue
				}
				l.queued.Add(-int64(len(e.rec.Items)))
				took = true
				if len(batch) == 0 {
					oldest = time.Now()
					l.progress.Store(oldest.UnixNano())
				}
				batch, segs = append(batch, e.rec), append(segs, e.seg)
				if size += len(e.rec.Items); len(batch) >= l.opt.BatchSize || size >= l.opt.BatchBytes {
					l.madeRoom()
					took = false
					storeBatch()
				}
			default:
				break drain
			}
		}
		if took {
			l.madeRoom()
			took = false
		}
		if len(batch) > 0 && time.Since(oldest) >= l.opt.FlushEvery {
			storeBatch()
		}
		select {
		case <-l.kick:
		case <-poll.C:
		case <-retry.C:
			if l.spilling.Load() {
				l.replay()
			}
		}
	}
}

// madeRoom wakes every Log waiting for room in the queue.
func (l *Logger) madeRoom() {
	room := make(chan struct{})
	close(*l.room.Swap(&room))
}

// pollEvery is how long the writer sleeps when the queue is empty.
const pollEvery = 10 * time.Millisecond

// store writes a batch, or spills it. While a spill file waits to be
// replayed, new batches are spilled behind it, so records reach the
// database in the order they were served. Records the database refuses
// are set aside (put); what follows a failure of the database itself is
// spilled. segs holds each record's journal segment, settled once the
// record is kept.
func (l *Logger) store(batch []caresignal.RequestRecord, segs []*segment) {
	if len(batch) == 0 {
		return
	}
	if !l.spilling.Load() {
		n, err := l.put(batch, l.written)
		l.j.settle(segs[:n])
		if err == nil {
			return
		}
		batch, segs = batch[n:], segs[n:]
		l.log.Warn("prediction log: the database did not take a batch; spilling to disk until it does", "records", len(batch), "err", err)
	}
	if err := l.spill(batch, true); err != nil {
		if l.j != nil {
			l.log.Error("prediction log: spilling failed; the records stay in the journal, for the next start to replay", "records", len(batch), "err", err)
			return
		}
		l.log.Error("prediction log: spilling failed; records are lost", "records", len(batch), "err", err)
		return
	}
	l.j.settle(segs)
}

// refused reports an error of the sink about the data rather than the
// database: retrying the same records can only fail again.
func refused(err error) bool { return caresignal.ErrorCode(err) == caresignal.EINVALID }

// put stores recs, counting them on stored, and sets aside the records
// the database refuses: a refused batch is split in halves until each
// refused record is alone, and that record goes to the quarantine file
// (k refused records in a batch of n cost about 2k·log2(n) transactions).
// It returns how many of recs, from the first, were stored or set aside,
// and the error that stopped it (the database away, the quarantine file
// unwritable), if any: the records from there on are not stored.
func (l *Logger) put(recs []caresignal.RequestRecord, stored prometheus.Counter) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), l.opt.WriteTimeout)
	err := l.sink.AppendRequests(ctx, recs)
	cancel()
	if err == nil {
		stored.Add(float64(len(recs)))
		return len(recs), nil
	}
	if !refused(err) {
		return 0, err
	}
	if len(recs) == 1 {
		if err := l.quarantine(recs, err); err != nil {
			return 0, err
		}
		return 1, nil
	}
	half := len(recs) / 2
	n, err := l.put(recs[:half], stored)
	if err != nil {
		return n, err
	}
	m, err := l.put(recs[half:], stored)
	return n + m, err
}

// quarantineLine is one line of the quarantine file. The items are kept
// as they were when they are JSON in UTF-8, and otherwise, byte for byte,
// in items_base64 (the record's items are then null).
type quarantineLine struct {
	At          time.Time                `json:"quarantined_at"`
	Error       string                   `json:"error"`
	Record      caresignal.RequestRecord `json:"record"`
	ItemsBase64 []byte                   `json:"items_base64,omitempty"`
}

// quarantine appends records the database (or the spill file) refused to
// the quarantine file, synced, with the reason.
func (l *Logger) quarantine(recs []caresignal.RequestRecord, cause error) error {
	l.qMu.Lock()
	defer l.qMu.Unlock()
	f, err := os.OpenFile(filepath.Join(l.opt.SpillDir, QuarantineName), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return l.quarantineFailed(err)
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	now := time.Now().UTC()
	var added []string
	for _, rec := range recs {
		if _, dup := l.qSeen[rec.ID]; dup && rec.ID != "" {
			continue
		}
		line := quarantineLine{At: now, Error: cause.Error(), Record: rec}
		if !utf8.Valid(rec.Items) || !json.Valid(rec.Items) {
			line.Record.Items, line.ItemsBase64 = nil, rec.Items
		}
		if err := enc.Encode(&line); err != nil {
			f.Close()
			return l.quarantineFailed(err)
		}
		added = append(added, rec.ID)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return l.quarantineFailed(err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return l.quarantineFailed(err)
	}
	if err := f.Close(); err != nil {
		return l.quarantineFailed(err)
	}
	if l.qSeen == nil {
		l.qSeen = map[string]struct{}{}
	}
	for _, id := range added {
		l.qSeen[id] = struct{}{}
		l.log.Error("prediction log: the database refused a record; it is set aside in the quarantine file", "id", id, "file", QuarantineName, "err", cause)
	}
	l.qRecords += int64(len(added))
	l.quarantined.Add(float64(len(added)))
	return nil
}

func (l *Logger) quarantineFailed(err error) error {
	l.log.Error("prediction log: writing the quarantine file", "err", err)
	return fmt.Errorf("writing the quarantine file: %w", err)
}

// Quarantined is the number of records in the quarantine file: those it
// held when the logger started and those set aside since; 0 once the file
// is gone or empty (an operator moved it away).
func (l *Logger) Quarantined() int64 {
	l.qMu.Lock()
	defer l.qMu.Unlock()
	if l.qRecords > 0 && fileSize(filepath.Join(l.opt.SpillDir, QuarantineName)) == 0 {
		l.qRecords = 0
	}
	return l.qRecords
}

func countLines(path string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	n := int64(0)
	for _, c := range b {
		if c == '\n' {
			n++
		}
	}
	return n
}

// spill appends records to the spill file, syncing it when asked. A
// record that cannot be written as JSON (items that are not JSON) could
// never be replayed either: it goes to the quarantine file.
func (l *Logger) spill(recs []caresignal.RequestRecord, sync bool) error {
	l.spillMu.Lock()
	defer l.spillMu.Unlock()
	bad, err := appendLines(filepath.Join(l.opt.SpillDir, spillName), recs, sync)
	if err != nil {
		msg := err.Error()
		l.spillErr.Store(&msg)
		return err
	}
	if len(bad) > 0 {
		if err := l.quarantine(bad, errors.New("the record cannot be written to the spill file: its items are not JSON")); err != nil {
			msg := err.Error()
			l.spillErr.Store(&msg)
			return err
		}
	}
	l.spillErr.Store(nil)
	if len(bad) < len(recs) {
		l.spilling.Store(true)
	}
	l.spilled.Add(float64(len(recs) - len(bad)))
	return nil
}

// appendLines appends recs to the file at path, one JSON line each,
// and returns the records that cannot be written as JSON.
func appendLines(path string, recs []caresignal.RequestRecord, sync bool) (bad []caresignal.RequestRecord, err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	w := bufio.NewWriter(f)
	var line []byte
	for i := range recs {
		// The items go in base64, byte for byte (appendLine): as JSON,
		// encoding/json would re-format them (no white space, <, > and &
		// escaped), and as a string replace invalid UTF-8; a replayed
		// record must hold the bytes the request sent (or be refused as
		// it would have been). A record whose items are not JSON is not
		// written.
		if !json.Valid(recs[i].Items) {
			bad = append(bad, recs[i])
			continue
		}
		line = appendLine(line[:0], &recs[i])
		if _, err := w.Write(line); err != nil {
			f.Close()
			return nil, err
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return nil, err
	}
	if sync {
		if err := f.Sync(); err != nil {
			f.Close()
			return nil, err
		}
	}
	return bad, f.Close()
}

// replay offers the spill file to the database: it is renamed aside
// (new spills start a fresh file) and stored batch by batch; if the
// database fails midway, the rest waits for the next try. Ids make a
// repeated batch harmless.
func (l *Logger) replay() {
	l.spillMu.Lock()
	pending, err := l.pendingFiles()
	if err == nil && fileSize(filepath.Join(l.opt.SpillDir, spillName)) > 0 {
		name := fmt.Sprintf("predictions.replay-%d.jsonl", time.Now().UnixNano())
		if err = os.Rename(filepath.Join(l.opt.SpillDir, spillName), filepath.Join(l.opt.SpillDir, name)); err == nil {
			pending = append(pending, name)
		}
	}
	l.spillMu.Unlock()
	if err != nil {
		l.log.Error("prediction log: reading the spill directory", "err", err)
		return
	}
	for _, name := range pending {
		if err := l.replayFile(filepath.Join(l.opt.SpillDir, name)); err != nil {
			l.log.Warn("prediction log: replay postponed; the database is still unavailable", "err", err)
			return
		}
	}
	l.spillMu.Lock()
	defer l.spillMu.Unlock()
	if rest, err := l.pendingFiles(); err == nil && len(rest) == 0 && fileSize(filepath.Join(l.opt.SpillDir, spillName)) == 0 {
		l.spilling.Store(false)
		l.qMu.Lock()
		l.qSeen = nil
		l.qMu.Unlock()
		l.log.Info("prediction log: spill replayed; writing to the database again")
	}
}

// pendingFiles lists the replay files, oldest first.
func (l *Logger) pendingFiles() ([]string, error) {
	entries, err := os.ReadDir(l.opt.SpillDir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "predictions.replay-") && strings.HasSuffix(e.Name(), ".jsonl") {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out, nil
}

func (l *Logger) replayFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	batch := make([]caresignal.RequestRecord, 0, l.opt.BatchSize)
	size := 0
	send := func() error {
		if len(batch) == 0 {
			return nil
		}
		if _, err := l.put(batch, l.replayed); err != nil {
			return err
		}
		batch, size = batch[:0], 0
		return nil
	}
	line := 0
	for sc.Scan() {
		line++
		rec, err := readLine(sc.Bytes())
		if err != nil {
			// A torn last line (a crash mid-append) is the only way to get
			// here; the lines before it are intact.
			l.log.Error("prediction log: an unreadable line in a spill file is skipped", "file", filepath.Base(path), "line", line, "err", err)
			continue
		}
		batch = append(batch, rec)
		if size += len(rec.Items); len(batch) >= l.opt.BatchSize || size >= l.opt.BatchBytes {
			if err := send(); err != nil {
				f.Close()
				return err
			}
		}
	}
	if err := sc.Err(); err != nil {
		f.Close()
		return err
	}
	if err := send(); err != nil {
		f.Close()
		return err
	}
	f.Close()
	return os.Remove(path)
}

// spilled is a line of the spill file: a request's record, its items'
// bytes in base64 (items_bytes); lines written before carry them as JSON
// (items).
type spilled struct {
	caresignal.RequestRecord
	ItemsBytes []byte `json:"items_bytes,omitempty"`
}

// readLine reads one line of a spill file: a request's record, or, in a
// file an earlier version spilled, one prediction's record (which is then
// stored as a request of one, under its id).
func readLine(line []byte) (caresignal.RequestRecord, error) {
	var probe struct {
		Items      json.RawMessage `json:"items"`
		ItemsBytes json.RawMessage `json:"items_bytes"`
	}
	if err := json.Unmarshal(line, &probe); err != nil {
		return caresignal.RequestRecord{}, err
	}
	if probe.ItemsBytes != nil || probe.Items != nil {
		var rec spilled
		if err := json.Unmarshal(line, &rec); err != nil {
			return caresignal.RequestRecord{}, err
		}
		if rec.ItemsBytes != nil {
			rec.Items = json.RawMessage(rec.ItemsBytes)
		}
		return rec.RequestRecord, nil
	}
	var old caresignal.PredictionRecord
	if err := json.Unmarshal(line, &old); err != nil {
		return caresignal.RequestRecord{}, err
	}
	return wire.Legacy(&old)
}

func fileSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Size()
}

// SpillBytes is the size of the spill files waiting to be replayed.
func (l *Logger) SpillBytes() int64 {
	entries, err := os.ReadDir(l.opt.SpillDir)
	if err != nil {
		return 0
	}
	var n int64
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "predictions.") && strings.HasSuffix(e.Name(), ".jsonl") {
			if info, err := e.Info(); err == nil {
				n += info.Size()
			}
		}
	}
	return n
}

// Health says whether records are kept: "ok" (writing to the database),
// "spilling" (the database is unavailable; records are safe on disk), or
// "failing: …" (records cannot be kept).
func (l *Logger) Health() string {
	if js := l.j.state(); js != "" {
		return "failing: " + js
	}
	if e := l.spillErr.Load(); e != nil {
		return "failing: " + *e
	}
	if l.spilling.Load() {
		return "spilling"
	}
	return "ok"
}

// State is Health followed, while the quarantine file holds records the
// database refused, by "; N records quarantined in
// predictions-quarantined.jsonl" (the log is writing all the same).
func (l *Logger) State() string {
	st := l.Health()
	if n := l.Quarantined(); n > 0 {
		noun := "records"
		if n == 1 {
			noun = "record"
		}
		st += fmt.Sprintf("; %d %s quarantined in %s", n, noun, QuarantineName)
	}
	return st
}

// wake tells the writer there is work, without waiting.
func (l *Logger) wake() {
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

// QueueDepth is the number of records waiting in memory.
func (l *Logger) QueueDepth() int { return len(l.queue) }

// QueueBytes is the size of the instances of the records waiting in
// memory.
func (l *Logger) QueueBytes() int64 { return l.queued.Load() }

// Close stops taking records, stores what is queued and makes one attempt
// to replay the spill file; what the database will not take stays on disk
// for the next start to replay. It returns when done
// or when ctx ends; records not yet written by then are spilled by the
// writer as it finishes.
func (l *Logger) Close(ctx context.Context) error {
	l.closeMu.Lock()
	if l.closed.Swap(true) {
		l.closeMu.Unlock()
		return nil
	}
	close(l.queue)
	l.closeMu.Unlock()
	l.wake()
	select {
	case <-l.done:
		if l.j != nil {
			l.j.close()
		}
		if e := l.spillErr.Load(); e != nil {
			return errors.New("prediction log: " + *e)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("prediction log: still flushing when shutdown ended: %w", ctx.Err())
	}
}

// Flush returns once every record logged before it was called is stored
// in the database, or, when the database cannot take it, appended to the
// spill file and synced; the logger stays open. A serverless function
// calls it before each invocation returns: the platform may freeze the
// instance, writer included, as soon as the answer is sent, and never
// thaw it. It waits for the writer, not for a timer, and returns ctx's
// error if ctx ends first (the records are still stored later).
func (l *Logger) Flush(ctx context.Context) error {
	done := make(chan struct{})
	if err := l.queueMarker(ctx, done); err != nil {
		return err
	}
	l.wake()
	select {
	case <-done:
	case <-ctx.Done():
		return fmt.Errorf("prediction log: still flushing: %w", ctx.Err())
	}
	if e := l.spillErr.Load(); e != nil {
		return errors.New("prediction log: " + *e)
	}
	return nil
}

// queueMarker queues the marker that closes done behind every record
// queued so far; the queue being FIFO, the writer reaches it after them.
// Records that Log appended to the spill file directly are synced when
// the writer takes the marker.
func (l *Logger) queueMarker(ctx context.Context, done chan struct{}) error {
	l.closeMu.RLock()
	defer l.closeMu.RUnlock()
	if l.closed.Load() {
		return caresignal.Errorf(caresignal.EUNAVAILABLE, "the prediction log is closed")
	}
	select {
	case l.queue <- entry{flushed: done}:
		return nil
	default:
	}
	l.wake()
	select {
	case l.queue <- entry{flushed: done}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("prediction log: the queue stayed full: %w", ctx.Err())
	}
}

// syncSpill flushes the spill file to disk, if there is one.
func (l *Logger) syncSpill() {
	l.spillMu.Lock()
	defer l.spillMu.Unlock()
	f, err := os.OpenFile(filepath.Join(l.opt.SpillDir, spillName), os.O_WRONLY, 0)
	if err != nil {
		return
	}
	if err := f.Sync(); err != nil {
		l.log.Error("prediction log: syncing the spill file", "err", err)
	}
	f.Close()
}
