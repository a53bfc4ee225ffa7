package predlog

import (
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/wire"
)

// The durable mode's journal: Log appends its records to a local file and
// returns only once the file is synced, so an answer is sent only after
// its record would survive a crash of the process or of the machine.
// Requests arriving while a sync is under way share the next one (group
// commit): one fsync per group of requests, however many there are.
//
// The journal is a sequence of segment files. A record is settled once
// the database holds it, the quarantine file does, or the synced spill
// file does; a segment whose records are all settled, and which takes no
// more records, is deleted. What a crash leaves behind is replayed at the
// next start, through the spill file's replay (the lines have its format;
// records carry unique ids, so a record already in the database is not
// stored twice).

// journalPrefix starts every segment's name; like the quarantine file's,
// it does not start with "predictions." so that nothing takes a segment
// for a spill file while the process runs.
const journalPrefix = "predictions-journal-"

// Rotation: a segment takes no more records once it holds segmentBytes,
// or once it is segmentAge old, so that settled records leave the disk
// soon after they reach the database.
const (
	segmentBytes = 8 << 20
	segmentAge   = 2 * time.Second
	// groupBytes bounds the bytes written with one fsync.
	groupBytes = 4 << 20
)

type journal struct {
	dir  string
	reqs chan *journalReq
	done chan struct{}

	mu      sync.Mutex // guards cur, settling and deleting segments
	cur     *segment
	opened  time.Time // when cur was created
	nextSeq int64
	onDisk  atomic.Int64 // bytes of the segments not yet deleted
	failure atomic.Pointer[string]
	log     func(msg string, args ...any)

	syncs, records prometheus.Counter
	syncSeconds    prometheus.Histogram
}

// segment is one journal file.
type segment struct {
	path    string
	f       *os.File
	size    int64
	records int64 // appended and synced
	settled int64
	sealed  bool // takes no more records
	keep    bool // a write failed: never deleted, replayed at the next start
}

type journalReq struct {
	buf   []byte
	n     int64 // records
	seg   *segment
	err   error
	ready chan struct{}
}

func newJournal(dir string, reg prometheus.Registerer, logErr func(string, ...any)) (*journal, error) {
	j := &journal{dir: dir, reqs: make(chan *journalReq, 1024), done: make(chan struct{}), nextSeq: time.Now().UnixNano(), log: logErr}
	j.syncs = prometheus.NewCounter(prometheus.CounterOpts{Name: "caresignal_prediction_log_journal_syncs_total", Help: "Syncs of the durable prediction log's journal (each answers a group of requests)."})
	j.records = prometheus.NewCounter(prometheus.CounterOpts{Name: "caresignal_prediction_log_journal_records_total", Help: "Prediction records (one per request) synced to the journal before their answers were sent."})
	j.syncSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "caresignal_prediction_log_journal_sync_seconds", Help: "Time to write and sync one group of records to the journal.",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25}})
	bytesGauge := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "caresignal_prediction_log_journal_bytes", Help: "Size of the journal files not yet deleted (their records are not all in the database yet)."},
		func() float64 { return float64(j.onDisk.Load()) })
	if reg != nil {
		for _, c := range []prometheus.Collector{j.syncs, j.records, j.syncSeconds, bytesGauge} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	go j.run()
	return j, nil
}

// recoverJournal turns the journal segments an earlier run left (a crash,
// or a shutdown before the database took every record) into replay files,
// oldest first, and returns how many there were.
func recoverJournal(dir string) (int, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	var names []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), journalPrefix) && strings.HasSuffix(e.Name(), ".jsonl") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	base := time.Now().UnixNano()
	for i, name := range names {
		to := filepath.Join(dir, fmt.Sprintf("predictions.replay-%d.jsonl", base+int64(i)))
		if err := os.Rename(filepath.Join(dir, name), to); err != nil {
			return i, fmt.Errorf("recovering the prediction log's journal: %w", err)
		}
	}
	if len(names) > 0 {
		if err := syncDir(dir); err != nil {
			return len(names), err
		}
	}
	return len(names), nil
}

// append writes recs to the journal and returns once they are synced, with
// the segment that holds them.
func (j *journal) append(recs []caresignal.RequestRecord) (*segment, error) {
	// The items are not checked here (wire.RequestLog builds them): the
	// line keeps their bytes in base64 whatever they are, and a replayed
	// record the database refuses goes to the quarantine file.
	var buf []byte
	for i := range recs {
		buf = appendLine(buf, &recs[i])
	}
	r := &journalReq{buf: buf, n: int64(len(recs)), ready: make(chan struct{})}
	j.reqs <- r
	<-r.ready
	return r.seg, r.err
}

// appendLine appends rec as a line of the spill file's format (a
// spilled record, its items in base64), byte for byte as encoding/json
// writes it (TestJournalLineIsJSONs), without its reflection: a fifth of
// the durable mode's CPU went there.
func appendLine(b []byte, rec *caresignal.RequestRecord) []byte {
	b = append(b, `{"id":`...)
	b = wire.AppendString(b, rec.ID)
	b = append(b, `,"at":"`...)
	b = rec.At.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","model":`...)
	b = wire.AppendString(b, rec.Model)
	b = append(b, `,"version":`...)
	b = wire.AppendString(b, rec.Version)
	b = append(b, `,"route":`...)
	b = wire.AppendString(b, rec.Route)
	b = append(b, `,"kind":`...)
	b = wire.AppendString(b, rec.Kind)
	b = append(b, `,"request_id":`...)
	b = wire.AppendString(b, rec.RequestID)
	b = append(b, `,"instances":`...)
	b = strconv.AppendInt(b, int64(rec.Instances), 10)
	b = append(b, `,"items":null`...)
	if rec.Items != nil {
		b = append(b, `,"items_bytes":"`...)
		b = base64.StdEncoding.AppendEncode(b, rec.Items)
		b = append(b, '"')
	}
	return append(b, "}\n"...)
}

// run writes the requests in groups: it takes one, then every request
// already waiting (up to groupBytes), writes them and syncs once.
func (j *journal) run() {
	defer close(j.done)
	var group []*journalReq
	var buf []byte
	for first := range j.reqs {
		group = append(group[:0], first)
		buf = append(buf[:0], first.buf...)
	more:
		for len(buf) < groupBytes {
			select {
			case r, ok := <-j.reqs:
				if !ok {
					break more
				}
				group = append(group, r)
				buf = append(buf, r.buf...)
			default:
				break more
			}
		}
		n := int64(0)
		for _, r := range group {
			n += r.n
		}
		seg, err := j.write(buf, n)
		for _, r := range group {
			r.seg, r.err = seg, err
			close(r.ready)
		}
	}
}

// write appends buf (n records) to the current segment, rotating first if
// it is full or old, and syncs it.
func (j *journal) write(buf []byte, n int64) (*segment, error) {
	start := time.Now()
	j.mu.Lock()
	if j.cur != nil && (j.cur.size+int64(len(buf)) > segmentBytes || start.Sub(j.opened) > segmentAge) {
		j.seal(j.cur)
		j.cur = nil
	}
	seg := j.cur
	j.mu.Unlock()
	if seg == nil {
		var err error
		if seg, err = j.open(); err != nil {
			return nil, j.failed(err)
		}
	}
	_, err := seg.f.Write(buf)
	if err == nil {
		err = seg.f.Sync()
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	seg.size += int64(len(buf))
	j.onDisk.Add(int64(len(buf)))
	if err != nil {
		// After a failed write or sync the file's contents are unknown:
		// it takes no more records, and stays on disk (its answered records
		// are replayed at the next start if they never settle).
		seg.keep = true
		j.seal(seg)
		j.cur = nil
		return nil, j.failed(err)
	}
	seg.records += n
	j.failure.Store(nil)
	j.syncs.Inc()
	j.records.Add(float64(n))
	j.syncSeconds.Observe(time.Since(start).Seconds())
	return seg, nil
}

// open creates a new segment and makes it current.
func (j *journal) open() (*segment, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.nextSeq++
	path := filepath.Join(j.dir, fmt.Sprintf("%s%020d.jsonl", journalPrefix, j.nextSeq))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	// The new name must survive a crash too.
	if err := syncDir(j.dir); err != nil {
		f.Close()
		os.Remove(path)
		return nil, err
	}
	j.cur, j.opened = &segment{path: path, f: f}, time.Now()
	return j.cur, nil
}

func (j *journal) failed(err error) error {
	msg := "journal: " + err.Error()
	if j.failure.Swap(&msg) == nil { // once per failure, not per request
		j.log("prediction log: the journal cannot be written; predicting requests are refused until it can", "err", err)
	}
	return caresignal.Errorf(caresignal.EUNAVAILABLE, "the prediction could not be recorded durably: %v", err)
}

// settle counts records as kept elsewhere (database, quarantine, synced
// spill file): segs holds each one's segment (nil entries are ignored).
func (j *journal) settle(segs []*segment) {
	if j == nil || len(segs) == 0 {
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	var last *segment
	for _, s := range segs {
		if s == nil {
			continue
		}
		s.settled++
		if s != last && last != nil {
			j.reap(last)
		}
		last = s
	}
	if last != nil {
		j.reap(last)
	}
}

// settleN counts n records of segment s as kept elsewhere.
func (j *journal) settleN(s *segment, n int) {
	j.mu.Lock()
	defer j.mu.Unlock()
	s.settled += int64(n)
	j.reap(s)
}

// seal makes s take no more records, closing its file, and deletes it if
// its records are all settled. j.mu is held.
func (j *journal) seal(s *segment) {
	if s.sealed {
		return
	}
	s.sealed = true
	if err := s.f.Close(); err != nil {
		j.log("prediction log: closing a journal file", "err", err)
	}
	j.reap(s)
}

// reap deletes s once it is sealed and all its records are settled.
// j.mu is held.
func (j *journal) reap(s *segment) {
	if !s.sealed || s.keep || s.settled < s.records || s.path == "" {
		return
	}
	if err := os.Remove(s.path); err != nil && !errors.Is(err, os.ErrNotExist) {
		j.log("prediction log: deleting a settled journal file", "err", err)
		return
	}
	j.onDisk.Add(-s.size)
	s.path = ""
}

// close stops the journal once no more appends can arrive, and seals the
// current segment: it is deleted if all its records are settled, and
// otherwise left for the next start to replay.
func (j *journal) close() {
	close(j.reqs)
	<-j.done
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.cur != nil {
		j.seal(j.cur)
		j.cur = nil
	}
}

// State is "" while the journal is healthy, and otherwise its last error.
func (j *journal) state() string {
	if j == nil {
		return ""
	}
	if e := j.failure.Load(); e != nil {
		return *e
	}
	return ""
}

// syncDir syncs a directory, so that the files created or renamed in it
// survive a crash of the machine.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
