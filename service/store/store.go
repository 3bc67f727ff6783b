// Package store keeps the triage service's state in NATS JetStream: the
// uploaded captures and the reports in object stores, the capture records
// (status, progress, summary) in a key-value bucket, and the analysis jobs
// in a work-queue stream. Nothing is kept in the process, so a restart, or
// several processes on one NATS cluster, see the same state.
//
// In the service it sits under api (which writes captures and records and
// queues jobs) and worker (which takes jobs, reads captures and writes
// reports).
package store

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// The JetStream names the service uses. Several services may share a NATS
// account only if they use other names.
const (
	// CapturesBucket is the object store of uploaded captures.
	CapturesBucket = "ftpdiag-captures"
	// ReportsBucket is the object store of reports (JSON, HTML, text).
	ReportsBucket = "ftpdiag-reports"
	// RecordsBucket is the key-value bucket of capture records, keyed
	// "TENANT.ID".
	RecordsBucket = "ftpdiag-records"
	// ConfigBucket is the key-value bucket of settings shared by every
	// front end (the secret that signs share links).
	ConfigBucket = "ftpdiag-config"
	// JobsStream is the work-queue stream of analysis jobs.
	JobsStream = "FTPDIAG_JOBS"
	// JobsSubject prefixes the subjects jobs are published on: one per
	// record, JobsSubject.TENANT.ID.
	JobsSubject = "ftpdiag.jobs"
	// WorkersConsumer is the durable pull consumer the workers share.
	WorkersConsumer = "workers"
)

// Defaults of Config.
const (
	DefaultRetention   = 30 * 24 * time.Hour
	DefaultAckWait     = 30 * time.Second
	DefaultMaxDeliver  = 5
	dedupWindow        = 2 * time.Minute
	publishAckWait     = 20 * time.Second
	defaultMaxAckInFly = 1024
	// chunkSize is the object store chunk: the unit in which captures and
	// reports are streamed (never held whole in memory).
	chunkSize = 128 << 10
)

// Errors the store's callers tell apart with errors.Is.
var (
	// ErrNotFound: no such record, object or report (or another tenant's).
	ErrNotFound = errors.New("not found")
	// ErrConflict: the record changed since it was read (a concurrent
	// update or a deletion).
	ErrConflict = errors.New("record changed concurrently")
	// ErrFull: JetStream has no storage left (its limit, or the disk).
	ErrFull = errors.New("storage full")
	// ErrUnknown: a write's answer was lost (a NATS node died) and
	// whether it was kept could not be found out.
	ErrUnknown = errors.New("answer lost, whether it was kept unknown")
)

// Config sets the JetStream layout.
type Config struct {
	// Retention is how long records, reports and kept captures live
	// (the buckets' and stream's maximum age); default 30 days.
	Retention time.Duration
	// Replicas is the replication of every stream and bucket (1 for the
	// embedded server).
	Replicas int
	// AckWait is how long a worker may hold a job without news before
	// JetStream hands it to another (workers send in-progress acks more
	// often than that); default 30 s.
	AckWait time.Duration
	// MaxDeliver bounds the deliveries of one job; default 5.
	MaxDeliver int
	// DiskDir, set when NATS runs in this process, is where JetStream
	// keeps its files: objects are written only while its file system
	// has more than its margin free (2%, at least 8 MiB, at most 1 GiB),
	// and Ping fails with ErrFull below it.
	DiskDir string
}

func (c *Config) defaults() {
	if c.Retention <= 0 {
		c.Retention = DefaultRetention
	}
	if c.Replicas <= 0 {
		c.Replicas = 1
	}
	if c.AckWait <= 0 {
		c.AckWait = DefaultAckWait
	}
	if c.MaxDeliver <= 0 {
		c.MaxDeliver = DefaultMaxDeliver
	}
}

// Store is the service's view of JetStream. It is safe for concurrent use.
type Store struct {
	cfg      Config
	js       jetstream.JetStream
	records  jetstream.KeyValue
	config   jetstream.KeyValue
	pending  jetstream.KeyValue
	captures jetstream.ObjectStore
	reports  jetstream.ObjectStore
	jobs     jetstream.Stream
	workers  jetstream.Consumer
}

// Open creates (or updates to cfg) the streams and buckets on nc's
// JetStream and returns the store.
func Open(ctx context.Context, nc *nats.Conn, cfg Config) (*Store, error) {
	cfg.defaults()
	// The object store waits DefaultTimeout for each chunk's
	// acknowledgement: on a replicated cluster under load 5 s (the
	// default) is too short for a large upload.
	// The object store publishes chunks asynchronously on this shared
	// JetStream context; an acknowledgement lost with a NATS node that
	// died would otherwise count against the outstanding limit forever
	// and stall every later upload ("too many outstanding async
	// published messages"), so pending acknowledgements expire.
	js, err := jetstream.New(nc, jetstream.WithDefaultTimeout(publishAckWait),
		jetstream.WithPublishAsyncTimeout(publishAckWait))
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	s := &Store{cfg: cfg, js: js}
	s.records, err = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: RecordsBucket, Description: "ftpdiag capture records", History: 1,
		TTL: cfg.Retention, Storage: jetstream.FileStorage, Replicas: cfg.Replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("key-value bucket %s: %w", RecordsBucket, err)
	}
	s.config, err = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: ConfigBucket, Description: "ftpdiag shared settings", History: 1,
		Storage: jetstream.FileStorage, Replicas: cfg.Replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("key-value bucket %s: %w", ConfigBucket, err)
	}
	s.pending, err = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: PendingBucket, Description: "ftpdiag jobs in flight", History: 1,
		TTL: cfg.Retention, Storage: jetstream.FileStorage, Replicas: cfg.Replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("key-value bucket %s: %w", PendingBucket, err)
	}
	s.captures, err = js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{
		Bucket: CapturesBucket, Description: "ftpdiag uploaded captures",
		TTL: cfg.Retention, Storage: jetstream.FileStorage, Replicas: cfg.Replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("object store %s: %w", CapturesBucket, err)
	}
	s.reports, err = js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{
		Bucket: ReportsBucket, Description: "ftpdiag reports",
		TTL: cfg.Retention, Storage: jetstream.FileStorage, Replicas: cfg.Replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("object store %s: %w", ReportsBucket, err)
	}
	s.jobs, err = js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: JobsStream, Description: "ftpdiag analysis jobs", Subjects: []string{JobsSubject + ".>"},
		Retention: jetstream.WorkQueuePolicy, Storage: jetstream.FileStorage, Replicas: cfg.Replicas,
		MaxAge: cfg.Retention, Duplicates: min(dedupWindow, cfg.Retention),
	})
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", JobsStream, err)
	}
	s.workers, err = s.jobs.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable: WorkersConsumer, Description: "ftpdiag analysis workers",
		AckPolicy: jetstream.AckExplicitPolicy, AckWait: cfg.AckWait, MaxDeliver: cfg.MaxDeliver,
		MaxAckPending: defaultMaxAckInFly, Replicas: cfg.Replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("consumer %s: %w", WorkersConsumer, err)
	}
	return s, nil
}

// Config returns the layout the store was opened with.
func (s *Store) Config() Config { return s.cfg }

// NewID returns a new capture id: 128 random bits in hex.
func NewID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand)
	return hex.EncodeToString(b[:])
}

// ValidID reports whether id has the form NewID gives.
func ValidID(id string) bool {
	if len(id) != 32 {
		return false
	}
	for _, c := range id {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// ValidTenant reports whether a tenant name can key records: 1 to 64
// letters, digits, '-' or '_'.
func ValidTenant(t string) bool {
	if t == "" || len(t) > 64 {
		return false
	}
	for _, c := range t {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func recordKey(tenant, id string) string { return tenant + "." + id }

// classify wraps JetStream's "out of storage" errors with ErrFull.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode {
		case 10002, 10023, 10047, 10028: // account limits, insufficient resources, storage exceeded
			return fmt.Errorf("%w: %w", ErrFull, err)
		}
	}
	msg := err.Error()
	if strings.Contains(msg, "insufficient") || strings.Contains(msg, "resource limits exceeded") ||
		strings.Contains(msg, "no space left") || strings.Contains(msg, "maximum bytes exceeded") {
		return fmt.Errorf("%w: %w", ErrFull, err)
	}
	return err
}

// CreateRecord stores a new record; it fails if the id is taken. A
// record not yet final is first noted among the jobs in flight, so that
// Sweep queues its job even if the process dies before Enqueue.
func (s *Store) CreateRecord(ctx context.Context, r *Record) (uint64, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return 0, err
	}
	if !r.Status.Final() {
		if err := s.markPending(ctx, Job{Tenant: r.Tenant, ID: r.ID}); err != nil {
			return 0, err
		}
	}
	var rev uint64
	err = retry(ctx, func(ctx context.Context, again bool) error {
		var err error
		rev, err = s.records.Create(ctx, recordKey(r.Tenant, r.ID), b)
		if again && errors.Is(err, jetstream.ErrKeyExists) {
			// The first try was stored but its answer lost (ids are
			// 128-bit random: nobody else has this one).
			e, gerr := s.records.Get(ctx, recordKey(r.Tenant, r.ID))
			if gerr != nil {
				return gerr
			}
			rev, err = e.Revision(), nil
		}
		return err
	})
	if err != nil {
		if !r.Status.Final() {
			// Best effort: a note left behind is settled by Sweep.
			s.Settled(context.WithoutCancel(ctx), Job{Tenant: r.Tenant, ID: r.ID})
		}
		return 0, fmt.Errorf("creating record %s: %w", r.ID, classify(err))
	}
	return rev, nil
}

// Store calls whose answer may be lost when a NATS node dies are tried
// again, each try bounded by tryTimeout, within the caller's context.
const (
	tries      = 4
	tryTimeout = 8 * time.Second
)

// retry calls try until it succeeds, fails with a JetStream API error
// (an answer, not a lost one), tries run out, or ctx ends. again tells a
// try that an earlier one may have been applied.
func retry(ctx context.Context, try func(ctx context.Context, again bool) error) error {
	var err error
	for i := range tries {
		tctx, cancel := context.WithTimeout(ctx, tryTimeout)
		err = try(tctx, i > 0)
		cancel()
		var apiErr *jetstream.APIError
		if err == nil || errors.As(err, &apiErr) || errors.Is(err, jetstream.ErrKeyExists) || ctx.Err() != nil {
			return err
		}
		sleep := time.NewTimer(time.Duration(i+1) * 250 * time.Millisecond)
		select {
		case <-sleep.C:
		case <-ctx.Done():
			sleep.Stop()
			return err
		}
	}
	return err
}

// Record reads a tenant's record and its revision; ErrNotFound when there
// is none (or it is another tenant's).
func (s *Store) Record(ctx context.Context, tenant, id string) (*Record, uint64, error) {
	if !ValidTenant(tenant) || !ValidID(id) {
		return nil, 0, ErrNotFound
	}
	e, err := s.records.Get(ctx, recordKey(tenant, id))
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		return nil, 0, ErrNotFound
	}
	if err != nil {
		return nil, 0, fmt.Errorf("reading record %s: %w", id, err)
	}
	r := &Record{}
	if err := json.Unmarshal(e.Value(), r); err != nil {
		return nil, 0, fmt.Errorf("record %s: %w", id, err)
	}
	return r, e.Revision(), nil
}

// UpdateRecord replaces a record read at revision rev. It returns
// ErrConflict if the record changed or was deleted since, and ErrUnknown
// if the update's answer was lost and whether it was kept could not be
// found out.
func (s *Store) UpdateRecord(ctx context.Context, r *Record, rev uint64) (uint64, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return 0, err
	}
	key := recordKey(r.Tenant, r.ID)
	n, err := s.records.Update(ctx, key, b, rev)
	var apiErr *jetstream.APIError
	if err != nil && !errors.As(err, &apiErr) && !errors.Is(err, jetstream.ErrKeyExists) {
		// No answer (a timeout, a node that died): the update may have
		// been kept all the same, and the record then holds these bytes.
		kept, lerr := s.landed(ctx, key, b, rev)
		switch {
		case lerr != nil:
			return 0, fmt.Errorf("updating record %s: %w: %w", r.ID, ErrUnknown, err)
		case kept != 0:
			return kept, nil
		}
	}
	if errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		return 0, fmt.Errorf("updating record %s: %w", r.ID, ErrConflict)
	}
	if err != nil {
		return 0, fmt.Errorf("updating record %s: %w", r.ID, classify(err))
	}
	return n, nil
}

// landPoll is how often landed reads the record again, for at most
// landWait (a variable for tests).
const landPoll = 250 * time.Millisecond

var landWait = replicaLag

// landed finds out whether a record update whose answer was an error was
// kept all the same: it returns the update's revision when the record's
// revision is past rev and its value is the update's, byte for byte (a
// record carries its times to the nanosecond, so no other writer's value
// is the same), and 0 when the record was deleted or holds another
// writer's value. While the record still reads at rev (the update not
// kept, or kept and not yet applied by the replica that answers: a
// leader that died may have passed it on to the next) or cannot be read,
// it reads again, for landWait, and then gives up with an error: the
// caller cannot know.
func (s *Store) landed(ctx context.Context, key string, value []byte, rev uint64) (uint64, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), landWait)
	defer cancel()
	last := errors.New("the record still reads at its revision before the update")
	for {
		e, err := s.records.Get(ctx, key)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted):
			return 0, nil // deleted: not kept, or no longer matters
		case err != nil:
			last = err
		case e.Revision() > rev && bytes.Equal(e.Value(), value):
			return e.Revision(), nil
		case e.Revision() > rev:
			return 0, nil // another writer's
		}
		sleepCtx(ctx, landPoll)
		if ctx.Err() != nil {
			return 0, fmt.Errorf("whether the update was kept: %w", last)
		}
	}
}

// DeleteRecord removes a record and its history, and its job from the
// jobs in flight.
func (s *Store) DeleteRecord(ctx context.Context, tenant, id string) error {
	err := retry(ctx, func(ctx context.Context, _ bool) error { return s.records.Purge(ctx, recordKey(tenant, id)) })
	if err != nil {
		return fmt.Errorf("deleting record %s: %w", id, err)
	}
	return s.Settled(ctx, Job{Tenant: tenant, ID: id})
}

// WaitRecord watches a record until until returns true for it, ctx ends,
// or the record is deleted, and returns the last value seen (ErrNotFound
// if none). It answers at once when the record already satisfies until.
func (s *Store) WaitRecord(ctx context.Context, tenant, id string, until func(*Record) bool) (*Record, error) {
	if !ValidTenant(tenant) || !ValidID(id) {
		return nil, ErrNotFound
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := s.records.Watch(wctx, recordKey(tenant, id))
	if err != nil {
		return nil, fmt.Errorf("watching record %s: %w", id, err)
	}
	defer w.Stop()
	var last *Record
	for {
		select {
		case e, ok := <-w.Updates():
			if !ok {
				return s.orNotFound(last)
			}
			if e == nil {
				if last == nil {
					return nil, ErrNotFound // caught up: there is none
				}
				continue
			}
			if e.Operation() != jetstream.KeyValuePut {
				return nil, ErrNotFound // deleted meanwhile
			}
			r := &Record{}
			if err := json.Unmarshal(e.Value(), r); err != nil {
				return nil, fmt.Errorf("record %s: %w", id, err)
			}
			last = r
			if until(r) {
				return r, nil
			}
		case <-ctx.Done():
			return s.orNotFound(last)
		}
	}
}

func (s *Store) orNotFound(r *Record) (*Record, error) {
	if r == nil {
		return nil, ErrNotFound
	}
	return r, nil
}

// listPageWait bounds the wait for the next record of a listing.
const listPageWait = 30 * time.Second

// Records calls fn with each of a tenant's records, in no particular
// order, until fn returns false.
func (s *Store) Records(ctx context.Context, tenant string, fn func(*Record) bool) error {
	if !ValidTenant(tenant) {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := s.records.WatchFiltered(ctx, []string{tenant + ".*"}, jetstream.IgnoreDeletes())
	if err != nil {
		return fmt.Errorf("listing records: %w", err)
	}
	defer w.Stop()
	timer := time.NewTimer(listPageWait)
	defer timer.Stop()
	for {
		select {
		case e, ok := <-w.Updates():
			if !ok {
				return ctx.Err()
			}
			if e == nil {
				return nil // every current value has been seen
			}
			r := &Record{}
			if err := json.Unmarshal(e.Value(), r); err != nil {
				continue // not ours to judge: skip what does not decode
			}
			if !fn(r) {
				return nil
			}
			timer.Reset(listPageWait)
		case <-timer.C:
			return errors.New("listing records: JetStream did not answer")
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// LinkSecret returns the secret that signs share links, made on first use
// and shared by every front end through the config bucket.
func (s *Store) LinkSecret(ctx context.Context) ([]byte, error) {
	const key = "link-secret"
	for range 3 {
		e, err := s.config.Get(ctx, key)
		if err == nil {
			return hex.DecodeString(string(e.Value()))
		}
		if !errors.Is(err, jetstream.ErrKeyNotFound) {
			return nil, fmt.Errorf("reading the link secret: %w", err)
		}
		var b [32]byte
		rand.Read(b[:])
		_, err = s.config.Create(ctx, key, []byte(hex.EncodeToString(b[:])))
		if err != nil && !errors.Is(err, jetstream.ErrKeyExists) {
			return nil, fmt.Errorf("storing the link secret: %w", classify(err))
		}
	}
	return nil, errors.New("link secret: could not be read back")
}

// Job is one analysis job on the queue: the record to analyse.
type Job struct {
	Tenant string `json:"tenant"`
	ID     string `json:"id"`
}

// Enqueue publishes the job of a record CreateRecord stored (and noted
// in flight). Publishing the same job twice within two minutes queues it
// once.
func (s *Store) Enqueue(ctx context.Context, j Job) error {
	// The message id makes a job published again (its first answer
	// lost) queued once.
	return s.publish(ctx, j, j.Tenant+"."+j.ID)
}

// publish puts a job on the queue under message id msgID.
func (s *Store) publish(ctx context.Context, j Job, msgID string) error {
	b, err := json.Marshal(j)
	if err != nil {
		return err
	}
	err = retry(ctx, func(ctx context.Context, _ bool) error {
		_, err := s.js.Publish(ctx, jobSubject(j), b, jetstream.WithMsgID(msgID))
		return err
	})
	if err != nil {
		return fmt.Errorf("queueing job %s: %w", j.ID, classify(err))
	}
	return nil
}

// NextJob waits for the next job until ctx is done. The message must be
// acknowledged (or nak'ed) by the caller.
func (s *Store) NextJob(ctx context.Context) (jetstream.Msg, Job, error) {
	m, err := s.workers.Next(jetstream.FetchContext(ctx))
	if err != nil {
		return nil, Job{}, err
	}
	var j Job
	if err := json.Unmarshal(m.Data(), &j); err != nil {
		return m, Job{}, fmt.Errorf("job message: %w", err)
	}
	return m, j, nil
}

// QueueDepth counts the jobs waiting or being analysed.
func (s *Store) QueueDepth(ctx context.Context) (int, error) {
	info, err := s.workers.Info(ctx)
	if err != nil {
		return 0, err
	}
	return int(info.NumPending) + info.NumAckPending, nil
}

// Ping checks that JetStream answers and, when NATS runs in this
// process, that its disk has room (ErrFull otherwise).
func (s *Store) Ping(ctx context.Context) error {
	if _, err := s.js.AccountInfo(ctx); err != nil {
		return err
	}
	return checkDisk(s.cfg.DiskDir)
}

// Usage returns the JetStream storage used and its limit (0: none known).
func (s *Store) Usage(ctx context.Context) (used, limit int64, err error) {
	info, err := s.js.AccountInfo(ctx)
	if err != nil {
		return 0, 0, err
	}
	return int64(info.Store), info.Limits.MaxStore, nil
}

// PutCapture streams r into the captures bucket as object name and
// returns its size. On any error, nothing of it is left behind.
func (s *Store) PutCapture(ctx context.Context, name string, r io.Reader) (int64, error) {
	return s.put(ctx, CapturesBucket, s.captures, name, r)
}

// OpenCapture opens a stored capture for reading and returns its size.
// A capture its record names exists: on a cluster, a replica that
// answers before it has the object's last message says "not found", so
// that answer is believed only after replicaLag.
func (s *Store) OpenCapture(ctx context.Context, name string) (io.ReadCloser, int64, error) {
	deadline := time.Now().Add(replicaLag)
	for {
		rc, n, err := s.open(ctx, s.captures, name)
		if !errors.Is(err, ErrNotFound) || time.Now().After(deadline) || s.cfg.Replicas < 2 {
			return rc, n, err
		}
		select {
		case <-time.After(250 * time.Millisecond):
		case <-ctx.Done():
			return nil, 0, err
		}
	}
}

// replicaLag bounds how long a replica may lag behind its stream leader.
const replicaLag = 10 * time.Second

// DeleteCapture removes a stored capture, leaving nothing of it behind.
func (s *Store) DeleteCapture(ctx context.Context, name string) error {
	return s.purge(ctx, CapturesBucket, s.captures, name)
}

// ReportKind names one of the reports stored for a record.
type ReportKind string

// The reports the workers store for each record.
const (
	// ReportJSON is the ftpdiag/v1 document, as --format json writes it.
	ReportJSON ReportKind = "json"
	// ReportHTML is the page --format html writes.
	ReportHTML ReportKind = "html"
	// ReportText is the terminal report without colour.
	ReportText ReportKind = "txt"
	// ReportExplain is the terminal report with --explain, without colour.
	ReportExplain ReportKind = "explain.txt"
)

// ReportKinds returns every kind of report, in the order workers store them.
func ReportKinds() []ReportKind {
	return []ReportKind{ReportJSON, ReportHTML, ReportText, ReportExplain}
}

// ReportName names one report of a record in the reports bucket.
func ReportName(tenant, id string, kind ReportKind) string {
	return tenant + "/" + id + "/report." + string(kind)
}

// PutReport streams one report of a record into the reports bucket,
// once: a report already stored complete (by a worker that died before
// it could finish the record) is kept, r is not read, and its size is -1.
// Reports are named by job id, so a job analysed twice writes each once.
func (s *Store) PutReport(ctx context.Context, tenant, id string, kind ReportKind, r io.Reader) (int64, error) {
	name := ReportName(tenant, id, kind)
	if ok, err := s.reportExists(ctx, name); err != nil || ok {
		return -1, err
	}
	return s.put(ctx, ReportsBucket, s.reports, name, r)
}

// OpenReport opens one report of a record and returns its size.
func (s *Store) OpenReport(ctx context.Context, tenant, id string, kind ReportKind) (io.ReadCloser, int64, error) {
	return s.open(ctx, s.reports, ReportName(tenant, id, kind))
}

// DeleteReports removes every report of a record.
func (s *Store) DeleteReports(ctx context.Context, tenant, id string) error {
	var errs []error
	for _, k := range append(ReportKinds(), outcomeKind) {
		errs = append(errs, s.purge(ctx, ReportsBucket, s.reports, ReportName(tenant, id, k)))
	}
	return errors.Join(errs...)
}

// put streams r into the object store obs (of bucket) as object name.
// On any error nothing of it is left behind: nats.go purges the chunks
// of a Put that fails, but when the failure is an answer lost with a
// NATS node (a chunk's or the meta's) the meta may have been stored all
// the same, naming chunks that are gone: such an object is removed too
// (a capture's would otherwise stay for ever, a report's be taken as
// complete and read as nothing).
func (s *Store) put(ctx context.Context, bucket string, obs jetstream.ObjectStore, name string, r io.Reader) (int64, error) {
	if err := checkDisk(s.cfg.DiskDir); err != nil {
		return 0, err
	}
	r = &chunkReader{r: r, dir: s.cfg.DiskDir}
	// A cancelled context would stop the object store from purging the
	// chunks already written: the reader's errors end an upload instead.
	ctx = context.WithoutCancel(ctx)
	info, err := obs.Put(ctx, jetstream.ObjectMeta{Name: name, Opts: &jetstream.ObjectMetaOptions{ChunkSize: chunkSize}}, r)
	if err != nil {
		if derr := s.dropBroken(ctx, bucket, obs, name); derr != nil {
			err = errors.Join(err, derr)
		}
		return 0, classify(err)
	}
	return int64(info.Size), nil
}

// dropBroken removes object name if its meta is stored and some of the
// chunks it names are not. A complete object (another writer's, of a
// report written by two workers at once) is kept.
func (s *Store) dropBroken(ctx context.Context, bucket string, obs jetstream.ObjectStore, name string) error {
	var broken bool
	err := retry(ctx, func(ctx context.Context, _ bool) error {
		info, err := obs.GetInfo(ctx, name)
		if errors.Is(err, jetstream.ErrObjectNotFound) {
			broken = false
			return nil
		}
		if err != nil {
			return err
		}
		n, err := s.chunkCount(ctx, bucket, info.NUID)
		broken = n < uint64(info.Chunks)
		return err
	})
	if err != nil {
		return fmt.Errorf("checking what a failed write of %s left: %w", name, err)
	}
	if !broken {
		return nil
	}
	return s.purge(ctx, bucket, obs, name)
}

// chunkCount counts the chunk messages of object nuid in bucket.
func (s *Store) chunkCount(ctx context.Context, bucket, nuid string) (uint64, error) {
	st, err := s.js.Stream(ctx, "OBJ_"+bucket)
	if err != nil {
		return 0, err
	}
	subject := "$O." + bucket + ".C." + nuid
	info, err := st.Info(ctx, jetstream.WithSubjectFilter(subject))
	if err != nil {
		return 0, err
	}
	return info.State.Subjects[subject], nil
}

// open opens an object for reading and returns its size. Its first
// bytes have been read by then: after a NATS node died, an object whose
// meta answers may still fail to deliver its chunks for a while (a
// consumer on a stream that changes leader), and a reader that fails
// before its first byte is opened again, within replicaLag, so that a
// caller who has read nothing yet (an HTTP answer not yet begun) is not
// handed a reader that fails at once.
func (s *Store) open(ctx context.Context, obs jetstream.ObjectStore, name string) (io.ReadCloser, int64, error) {
	deadline := time.Now().Add(replicaLag)
	for {
		rc, n, err := s.openOnce(ctx, obs, name)
		if err != nil {
			return nil, 0, err
		}
		br := bufio.NewReaderSize(rc, chunkSize)
		_, err = br.Peek(1)
		if err == nil || err == io.EOF {
			return &bufferedObject{Reader: br, Closer: rc}, n, nil
		}
		rc.Close()
		if time.Now().After(deadline) || ctx.Err() != nil {
			return nil, 0, fmt.Errorf("object %s: %w", name, err)
		}
		sleepCtx(ctx, 250*time.Millisecond)
	}
}

// bufferedObject is an object being read through a buffer.
type bufferedObject struct {
	*bufio.Reader
	io.Closer
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

func (s *Store) openOnce(ctx context.Context, obs jetstream.ObjectStore, name string) (io.ReadCloser, int64, error) {
	res, err := getObject(ctx, obs, name)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil, 0, ErrNotFound
	}
	if err != nil {
		return nil, 0, fmt.Errorf("object %s: %w", name, err)
	}
	info, err := res.res.Info()
	if err != nil {
		res.Close()
		return nil, 0, fmt.Errorf("object %s: %w", name, err)
	}
	return res, int64(info.Size), nil
}

// purge removes an object's chunks and its meta message. Unlike
// ObjectStore.Delete it writes nothing (no deletion marker), so it works
// on a full store and leaves no trace.
func (s *Store) purge(ctx context.Context, bucket string, obs jetstream.ObjectStore, name string) error {
	ctx = context.WithoutCancel(ctx)
	return retry(ctx, func(ctx context.Context, _ bool) error { return s.purgeOnce(ctx, bucket, obs, name) })
}

func (s *Store) purgeOnce(ctx context.Context, bucket string, obs jetstream.ObjectStore, name string) error {
	info, err := obs.GetInfo(ctx, name, jetstream.GetObjectInfoShowDeleted())
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		// Perhaps a replica behind its leader (or a purge whose answer
		// was lost): the meta subject is purged all the same, at the
		// leader.
		info, err = &jetstream.ObjectInfo{}, nil
	}
	if err != nil {
		return fmt.Errorf("deleting object %s: %w", name, err)
	}
	st, err := s.js.Stream(ctx, "OBJ_"+bucket)
	if err != nil {
		return fmt.Errorf("deleting object %s: %w", name, err)
	}
	if info.NUID != "" {
		if err := st.Purge(ctx, jetstream.WithPurgeSubject("$O."+bucket+".C."+info.NUID)); err != nil {
			return fmt.Errorf("deleting object %s: %w", name, err)
		}
	}
	meta := "$O." + bucket + ".M." + encodeName(name)
	if err := st.Purge(ctx, jetstream.WithPurgeSubject(meta)); err != nil {
		return fmt.Errorf("deleting object %s: %w", name, err)
	}
	return nil
}

// CountObjects counts the live objects and the chunk messages left in a
// bucket (CapturesBucket or ReportsBucket): what tests check is zero.
func (s *Store) CountObjects(ctx context.Context, bucket string) (objects int, chunks uint64, err error) {
	obs := s.captures
	if bucket == ReportsBucket {
		obs = s.reports
	}
	list, err := obs.List(ctx)
	if err != nil && !errors.Is(err, jetstream.ErrNoObjectsFound) {
		return 0, 0, err
	}
	st, err := s.js.Stream(ctx, "OBJ_"+bucket)
	if err != nil {
		return 0, 0, err
	}
	info, err := st.Info(ctx, jetstream.WithSubjectFilter("$O."+bucket+".C.>"))
	if err != nil {
		return 0, 0, err
	}
	for _, n := range info.State.Subjects {
		chunks += n
	}
	return len(list), chunks, nil
}

// encodeName is how the object store names an object's meta subject.
func encodeName(name string) string { return base64.URLEncoding.EncodeToString([]byte(name)) }
