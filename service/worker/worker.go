// Package worker runs the triage service's analyses: a pool of workers
// that take jobs from the JetStream work queue, stream each capture from
// the object store into analyze.Run, store the reports and update the
// record, and only then acknowledge the job.
//
// While it analyses, a worker tells JetStream it is still working
// (in-progress acks, three per ack wait), so a long job is not handed to
// another worker. A worker that dies mid-job (a crash, SIGKILL) leaves
// the job unacknowledged: JetStream delivers it again after the ack wait,
// and the analysis runs again from the start. Reports are named by job id
// and written once; the outcome is stored after them, so a job delivered
// again whose outcome exists, or whose record is final, is acknowledged
// without analysing again, and each capture is analysed to completion
// once. A job delivered MaxDeliver times without success is failed with
// the last reason (JetStream's max-deliveries advisory covers a last
// worker that died). Drain stops a pool gracefully: it stops pulling,
// lets the jobs in hand finish for a while, and hands the rest back.
package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"ftpdiag"
	"ftpdiag/analyze"
	"ftpdiag/correlate"
	"ftpdiag/report"
	"ftpdiag/service/metrics"
	"ftpdiag/service/store"
)

// Defaults of Config.
const (
	DefaultJobTimeout      = 30 * time.Minute
	DefaultMaxCaptureBytes = 64 << 30
	// progressEvery is how often a running job's record is updated.
	progressEvery = time.Second
	// retryDelay is how long a job waits after a failure of JetStream
	// before it is delivered again.
	retryDelay = 5 * time.Second
	// storeTimeout bounds one store operation outside an analysis: a
	// request lost with a NATS node that died is tried again after it.
	storeTimeout = 10 * time.Second
	// fetchWait is how long a worker waits for a job before checking
	// whether it should stop.
	fetchWait = 5 * time.Second
)

// Config sets up the pool.
type Config struct {
	// Workers is the number of jobs analysed at once; default one per
	// core.
	Workers int
	// JobTimeout bounds one analysis; default 30 minutes.
	JobTimeout time.Duration
	// MaxCaptureBytes bounds a job's captures once decompressed;
	// default 64 GiB.
	MaxCaptureBytes int64
	// KeepCaptures keeps the captures after their analysis (for
	// evidence extraction); otherwise they are deleted once analysed.
	KeepCaptures bool
	// Metrics, if set, are updated.
	Metrics *metrics.Metrics
	// Logf, if set, logs what goes wrong outside an analysis.
	Logf func(format string, args ...any)
	// Tracef, if set, logs each job's start and end.
	Tracef func(format string, args ...any)
	// HoldRunning, for fault tests only, keeps every job running this
	// long before its analysis starts (while sending in-progress acks).
	HoldRunning time.Duration
}

func (c *Config) defaults() {
	if c.Workers <= 0 {
		c.Workers = runtime.NumCPU()
	}
	if c.JobTimeout <= 0 {
		c.JobTimeout = DefaultJobTimeout
	}
	if c.MaxCaptureBytes <= 0 {
		c.MaxCaptureBytes = DefaultMaxCaptureBytes
	}
	if c.Logf == nil {
		c.Logf = func(string, ...any) {}
	}
	if c.Tracef == nil {
		c.Tracef = func(string, ...any) {}
	}
}

// Pool is a set of workers.
type Pool struct {
	st      *store.Store
	cfg     Config
	started atomic.Int32
	wg      sync.WaitGroup
	// pull stops the workers taking jobs; jobs (cancelled later) stops
	// the jobs in hand, which are then handed back.
	pull, jobs       context.Context
	stopPull, giveUp context.CancelFunc
	unwatch          func()
}

// Start starts the workers. When ctx is done they stop taking jobs and
// hand back at once (Nak) the jobs they hold; Drain stops them more
// gently. A job in hand when the process dies is delivered again by
// JetStream after the ack wait.
func Start(ctx context.Context, st *store.Store, cfg Config) *Pool {
	cfg.defaults()
	p := &Pool{st: st, cfg: cfg}
	p.jobs, p.giveUp = context.WithCancel(ctx)
	p.pull, p.stopPull = context.WithCancel(p.jobs)
	unwatch, err := st.WatchExhausted(p.exhausted)
	if err != nil {
		cfg.Logf("worker: %v", err)
		unwatch = func() {}
	}
	p.unwatch = unwatch
	for range cfg.Workers {
		p.wg.Add(1)
		go p.loop()
	}
	p.wg.Go(p.sweep)
	return p
}

// chunkSweepEvery is how often a pool removes the chunks of objects whose
// writer died (store.SweepChunks).
const chunkSweepEvery = time.Hour

// sweep queues again, every half SweepAge while the pool pulls, the jobs
// the queue lost (store.Sweep), and at its first turn and then hourly
// removes the chunks that belong to no object.
func (p *Pool) sweep() {
	age := p.st.Config().SweepAge()
	t := time.NewTicker(age / 2)
	defer t.Stop()
	var chunksSwept time.Time
	for {
		select {
		case <-p.pull.Done():
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(p.pull, age)
		jobs, err := p.st.Sweep(ctx, age)
		if err != nil && p.pull.Err() == nil {
			p.cfg.Logf("worker: sweeping the jobs in flight: %v", err)
		}
		for _, j := range jobs {
			p.cfg.Logf("worker: job %s was lost by the queue: queued again", j.ID)
		}
		if time.Since(chunksSwept) >= chunkSweepEvery {
			chunksSwept = time.Now()
			n, err := p.st.SweepChunks(ctx, store.ChunkSweepAge)
			if err != nil && p.pull.Err() == nil {
				p.cfg.Logf("worker: %v", err)
			}
			if n > 0 {
				p.cfg.Logf("worker: removed the chunks of %d objects whose writer died", n)
			}
		}
		cancel()
	}
}

// Drain stops the pool gracefully: the workers take no new job, those
// that hold one have grace to finish it, and then hand it back to the
// queue (Nak, the record queued again) for another worker. It returns
// once every worker has stopped.
func (p *Pool) Drain(grace time.Duration) {
	p.stopPull()
	done := make(chan struct{})
	go func() { p.wg.Wait(); close(done) }()
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		p.giveUp()
		<-done
	}
	p.giveUp()
	p.unwatch()
}

// Ready reports whether every worker is waiting for jobs or working:
// false once Drain (or the end of Start's context) stops them taking jobs.
func (p *Pool) Ready() bool {
	return p.pull.Err() == nil && int(p.started.Load()) == p.cfg.Workers
}

// Workers returns the number of workers.
func (p *Pool) Workers() int { return p.cfg.Workers }

// Wait waits for the workers to stop.
func (p *Pool) Wait() {
	p.wg.Wait()
	p.unwatch()
}

func (p *Pool) loop() {
	defer p.wg.Done()
	p.started.Add(1)
	defer p.started.Add(-1)
	for p.pull.Err() == nil {
		fctx, cancel := context.WithTimeout(p.pull, fetchWait)
		msg, job, err := p.st.NextJob(fctx)
		cancel()
		if err != nil {
			if msg != nil { // a message that is not a job: drop it
				msg.Term()
			}
			if p.pull.Err() == nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, nats.ErrTimeout) && !errors.Is(err, jetstream.ErrNoMessages) {
				p.cfg.Logf("worker: waiting for a job: %v", err)
				sleep(p.pull, time.Second)
			}
			continue
		}
		p.handle(p.jobs, msg, job)
	}
}

// exhausted fails the record of a job JetStream will not deliver again,
// with the last reason a worker gave (or, when the last worker died, that
// it stopped answering).
func (p *Pool) exhausted(ctx context.Context, e store.Exhausted) {
	rec, rev, err := p.st.Record(ctx, e.Job.Tenant, e.Job.ID)
	if err != nil || rec.Status.Final() {
		return
	}
	last := rec.Error
	if last == "" || rec.Status == store.Running {
		last = "the worker stopped answering within the ack wait (it died or lost NATS)"
	}
	now := time.Now().UTC()
	rec.Status, rec.Finished, rec.Reason = store.Failed, &now, "attempts"
	rec.Error = fmt.Sprintf("analysis failed %d times; last: %s", e.Deliveries, last)
	if _, err := p.st.UpdateRecord(ctx, rec, rev); err != nil {
		return // another process got there first
	}
	if m := p.cfg.Metrics; m != nil {
		m.Jobs.WithLabelValues(string(store.Failed)).Inc()
		m.Failures.WithLabelValues("attempts").Inc()
	}
	p.cfg.Tracef("job %s failed: %s", rec.ID, rec.Error)
	p.cleanup(ctx, rec)
	p.settled(ctx, rec)
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// handle runs one job and acknowledges it once its record is final.
func (p *Pool) handle(ctx context.Context, msg jetstream.Msg, job store.Job) {
	sctx, cancel := context.WithTimeout(ctx, storeTimeout)
	rec, rev, err := p.st.Record(sctx, job.Tenant, job.ID)
	cancel()
	switch {
	case errors.Is(err, store.ErrNotFound):
		msg.Term() // deleted (the API removed its capture) or expired
		return
	case err != nil:
		p.cfg.Logf("worker: job %s: %v", job.ID, err)
		msg.NakWithDelay(retryDelay)
		return
	case rec.Status.Final():
		// Analysed before a crash that came before the ack: done once.
		p.cleanup(ctx, rec)
		p.ack(ctx, msg, rec)
		p.cfg.Tracef("job %s already %s: acknowledged", rec.ID, rec.Status)
		return
	}
	meta, _ := msg.Metadata()
	delivered := 1
	if meta != nil {
		delivered = int(meta.NumDelivered)
	}
	j := &task{p: p, msg: msg, rec: rec, rev: rev}
	if p.finishStored(ctx, j) {
		return
	}
	p.cfg.Tracef("job %s started (delivery %d)", rec.ID, delivered)
	err = j.run(ctx)
	switch {
	case err == nil:
		p.cfg.Tracef("job %s %s", rec.ID, j.rec.Status)
	case errors.Is(err, store.ErrConflict):
		p.conflict(ctx, msg, rec)
	case p.unconfirmed(j, err):
	case ctx.Err() != nil:
		// Stopping: hand the job back to another worker.
		j.handBack()
		p.cfg.Tracef("job %s handed back", rec.ID)
	case delivered >= p.st.Config().MaxDeliver:
		j.fail(ctx, "attempts", fmt.Sprintf("analysis failed %d times; last: %v", delivered, err))
	default:
		p.cfg.Logf("worker: job %s: %v (will retry)", job.ID, err)
		j.noteFailure(ctx, err)
		msg.NakWithDelay(retryDelay)
	}
}

// unconfirmed handles a job whose final record update lost its answer
// without its worker finding out whether it was kept (store.ErrUnknown):
// it says so, since the record may now be final by this worker's hand
// though it never logs the job done, and hands the job back, to be
// acknowledged as already final or analysed again. It reports whether
// err was such.
func (p *Pool) unconfirmed(j *task, err error) bool {
	if !errors.Is(err, store.ErrUnknown) || !j.rec.Status.Final() {
		return false
	}
	p.cfg.Tracef("job %s may be %s (the answer to its final update was lost): handed back", j.rec.ID, j.rec.Status)
	p.cfg.Logf("worker: job %s: %v", j.rec.ID, err)
	j.msg.NakWithDelay(retryDelay)
	return true
}

// conflict handles a record that changed under a running job: deleted
// (drop what was written), or taken over by another worker after this
// one failed to answer within the ack wait (leave the job to it).
func (p *Pool) conflict(ctx context.Context, msg jetstream.Msg, rec *store.Record) {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	cur, _, err := p.st.Record(sctx, rec.Tenant, rec.ID)
	cancel()
	switch {
	case errors.Is(err, store.ErrNotFound):
		p.dropReports(ctx, rec)
		msg.Term()
	case err == nil && cur.Status.Final():
		p.ack(ctx, msg, rec)
		p.cfg.Tracef("job %s finished by another worker", rec.ID)
	default:
		p.cfg.Logf("worker: job %s: another worker took it over", rec.ID)
	}
}

// ack acknowledges the job of a final record, waiting for JetStream to
// confirm, and removes it from the jobs in flight.
func (p *Pool) ack(ctx context.Context, msg jetstream.Msg, rec *store.Record) {
	ackCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	if err := msg.DoubleAck(ackCtx); err != nil {
		// Delivered again later: the record is final, so it is only
		// acknowledged then.
		p.cfg.Logf("worker: job %s: ack: %v", rec.ID, err)
		return
	}
	p.settled(ackCtx, rec)
}

// settled removes a final record's job from the jobs in flight; a mark
// left behind is removed by the next sweep.
func (p *Pool) settled(ctx context.Context, rec *store.Record) {
	if err := p.st.Settled(ctx, store.Job{Tenant: rec.Tenant, ID: rec.ID}); err != nil {
		p.cfg.Logf("worker: %v", err)
	}
}

// finishStored finishes a job whose outcome an earlier worker stored
// before it died, without analysing again. It reports whether it did.
func (p *Pool) finishStored(ctx context.Context, j *task) bool {
	sctx, cancel := context.WithTimeout(ctx, storeTimeout)
	o, err := p.st.Outcome(sctx, j.rec.Tenant, j.rec.ID)
	cancel()
	if err != nil {
		return false // none (analyse), or unreadable (analyse again)
	}
	err = j.update(ctx, func(r *store.Record) { o.Apply(r, p.cfg.KeepCaptures) })
	if err != nil {
		if !p.unconfirmed(j, err) {
			p.cfg.Logf("worker: job %s: %v", j.rec.ID, err)
			j.msg.NakWithDelay(retryDelay)
		}
		return true
	}
	p.cleanup(ctx, j.rec)
	p.ack(ctx, j.msg, j.rec)
	p.cfg.Tracef("job %s %s from its stored outcome", j.rec.ID, j.rec.Status)
	return true
}

// task is one job being worked on.
type task struct {
	p     *Pool
	msg   jetstream.Msg
	mu    sync.Mutex // guards rec and rev against the progress updates
	rec   *store.Record
	rev   uint64
	start time.Time
	// views is what comparing the upload's files found, for the reports.
	views *correlate.Result
}

// update writes the record, under the job's lock.
func (j *task) update(ctx context.Context, change func(*store.Record)) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	change(j.rec)
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	rev, err := j.p.st.UpdateRecord(ctx, j.rec, j.rev)
	if err != nil {
		return err
	}
	j.rev = rev
	return nil
}

// run analyses the job and, unless it returns an error, has made its
// record final and acknowledged the message.
func (j *task) run(ctx context.Context) error {
	j.start = time.Now()
	if m := j.p.cfg.Metrics; m != nil {
		m.QueueSeconds.Observe(j.start.Sub(j.rec.Created).Seconds())
	}
	err := j.update(ctx, func(r *store.Record) {
		now := time.Now().UTC()
		r.Status, r.Started, r.Finished = store.Running, &now, nil
		r.Attempts++
		r.Progress = store.Progress{BytesTotal: r.Size}
	})
	if err != nil {
		return err
	}
	budget := NewBudget(j.p.cfg.MaxCaptureBytes)
	alive := j.keepAlive(ctx, budget)
	defer alive.stop()
	if d := j.p.cfg.HoldRunning; d > 0 {
		sleep(ctx, d)
	}
	actx, cancel := context.WithTimeout(ctx, j.p.cfg.JobTimeout)
	defer cancel()
	a, aerr, err := j.analyse(actx, budget)
	if err != nil {
		return err
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	// Storing the reports of a big capture may outlast the ack wait: the
	// in-progress acks go on, the progress updates stop.
	alive.analysed()
	return j.finish(ctx, a, aerr, budget, actx.Err() != nil)
}

// handBack gives the job back to the queue for another worker (Nak) and
// says so in its record.
func (j *task) handBack() {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	err := j.update(ctx, func(r *store.Record) {
		r.Status, r.Started = store.Queued, nil
		r.Progress.BytesRead = 0
	})
	if err != nil {
		j.p.cfg.Logf("worker: job %s: handing back: %v", j.rec.ID, err)
	}
	j.msg.Nak()
}

// noteFailure keeps a failed attempt's reason in the record, for the
// record that fails after the last one.
func (j *task) noteFailure(ctx context.Context, cause error) {
	err := j.update(ctx, func(r *store.Record) {
		r.Status, r.Error = store.Queued, cause.Error()
	})
	if err != nil {
		j.p.cfg.Logf("worker: job %s: %v", j.rec.ID, err)
	}
}

// analyse runs the analysis. It returns the analysis and its error, or
// an error of the store (the job should be tried again).
func (j *task) analyse(ctx context.Context, b *Budget) (a *analyze.Analysis, aerr error, err error) {
	j.views = j.compare(ctx)
	inputs, closeAll, err := Captures(ctx, j.p.st, j.rec.Files, b)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) || ctx.Err() != nil {
			// The capture is gone (deleted, or expired while queued).
			return &analyze.Analysis{}, err, nil
		}
		return nil, nil, err
	}
	defer closeAll()
	defer func() {
		if r := recover(); r != nil {
			a, aerr, err = &analyze.Analysis{}, fmt.Errorf("analysis panicked: %v\n%s", r, debug.Stack()), nil
		}
	}()
	res, aerr := ftpdiag.Run(ctx, inputs, Options(), ftpdiag.Outputs{KeepSessions: true, Views: j.views})
	return res.Analysis, aerr, nil
}

// compare compares an upload's files packet by packet as views of the
// same traffic, when they may share connections, as the CLI does without
// --views or --no-views; nil when they share nothing. Each reading of the
// files counts against a budget of its own.
func (j *task) compare(ctx context.Context) *correlate.Result {
	open := func(ctx context.Context) ([]analyze.Input, func(), error) {
		return Captures(ctx, j.p.st, j.rec.Files, NewBudget(j.p.cfg.MaxCaptureBytes))
	}
	views, _ := ftpdiag.CompareViews(ctx, len(j.rec.Files), open, ftpdiag.ViewsAuto)
	return views
}

// keepAlive tells JetStream the job is still being worked on, and
// updates the record's progress until analysed is called, until stop is.
func (j *task) keepAlive(ctx context.Context, b *Budget) *keepAlive {
	k := &keepAlive{done: make(chan struct{})}
	k.wg.Add(1)
	go func() {
		defer k.wg.Done()
		ackEvery := j.p.st.Config().AckWait / 3
		lastAck := time.Now()
		t := time.NewTicker(min(progressEvery, ackEvery))
		defer t.Stop()
		for {
			select {
			case <-k.done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if time.Since(lastAck) >= ackEvery {
				j.msg.InProgress()
				lastAck = time.Now()
			}
			if !k.finishing.Load() {
				read := b.Read()
				j.update(ctx, func(r *store.Record) { r.Progress.BytesRead = read })
			}
		}
	}()
	return k
}

// keepAlive is a job's in-progress acks and progress updates.
type keepAlive struct {
	done      chan struct{}
	wg        sync.WaitGroup
	once      sync.Once
	finishing atomic.Bool
}

// analysed stops the progress updates; the in-progress acks go on.
func (k *keepAlive) analysed() { k.finishing.Store(true) }

// stop stops both and waits.
func (k *keepAlive) stop() {
	k.once.Do(func() { close(k.done); k.wg.Wait() })
}

// finish stores the reports and the final record, deletes the capture
// unless kept, and acknowledges the job.
func (j *task) finish(ctx context.Context, a *analyze.Analysis, aerr error, b *Budget, timedOut bool) error {
	rec := j.rec
	lines := errorLines(aerr)
	nothing := errors.Is(aerr, analyze.ErrNothingRead)
	status, reason := store.Done, ""
	switch {
	case b.Exceeded():
		status, reason = store.Failed, "too_large"
		lines = append(lines, fmt.Sprintf("the capture exceeds %d bytes once decompressed (--max-capture-bytes); the analysis stopped there", j.p.cfg.MaxCaptureBytes))
	case timedOut:
		status, reason = store.Failed, "timeout"
		lines = append(lines, fmt.Sprintf("the analysis took longer than %v (--job-timeout) and was stopped", j.p.cfg.JobTimeout))
	case errors.Is(aerr, store.ErrNotFound):
		status, reason = store.Failed, "capture_missing"
	case aerr != nil && strings.HasPrefix(aerr.Error(), "analysis panicked"):
		status, reason = store.Failed, "panic"
		lines = []string{strings.SplitN(aerr.Error(), "\n", 2)[0]}
	case nothing:
		status, reason = store.Failed, "nothing_read"
	}
	reports := status == store.Done || reason == "nothing_read"
	o := &store.Outcome{
		Status: status, Reason: reason, Error: strings.Join(lines, "\n"),
		NothingRead: nothing, Reports: reports, BytesRead: b.Read(),
	}
	if reports {
		if err := j.storeReports(ctx, a, !nothing); err != nil {
			return err
		}
		o.Summary = Summarize(a)
	}
	// Stored after the reports, the outcome says they are complete.
	if err := j.p.st.PutOutcome(ctx, rec.Tenant, rec.ID, o); err != nil {
		return err
	}
	if err := j.update(ctx, func(r *store.Record) { o.Apply(r, j.p.cfg.KeepCaptures) }); err != nil {
		return err
	}
	if m := j.p.cfg.Metrics; m != nil {
		m.AnalysisSeconds.Observe(time.Since(j.start).Seconds())
		m.Jobs.WithLabelValues(string(status)).Inc()
		if reason != "" {
			m.Failures.WithLabelValues(reason).Inc()
		}
	}
	j.p.cleanup(ctx, rec)
	j.p.ack(ctx, j.msg, rec)
	return nil
}

// fail makes the record failed with a reason and acknowledges the job.
func (j *task) fail(ctx context.Context, reason, msg string) {
	err := j.update(ctx, func(r *store.Record) {
		now := time.Now().UTC()
		r.Status, r.Finished, r.Reason, r.Error = store.Failed, &now, reason, msg
	})
	if err != nil {
		j.p.cfg.Logf("worker: job %s: %v", j.rec.ID, err)
		j.msg.NakWithDelay(retryDelay)
		return
	}
	if m := j.p.cfg.Metrics; m != nil {
		m.Jobs.WithLabelValues(string(store.Failed)).Inc()
		m.Failures.WithLabelValues(reason).Inc()
	}
	j.p.cleanup(ctx, j.rec)
	j.msg.Term()
	j.p.settled(ctx, j.rec)
}

// storeReports writes the JSON, HTML and text reports. The text reports,
// like the CLI's, are written only when something could be read, and fit
// report.DefaultWidth, as the CLI's do when not written to a terminal.
func (j *task) storeReports(ctx context.Context, a *analyze.Analysis, readSome bool) error {
	tl := Timeline()
	writers := map[store.ReportKind]func(io.Writer) error{
		store.ReportJSON: func(w io.Writer) error { return report.WriteJSONViews(w, a, false, j.views) },
		store.ReportHTML: func(w io.Writer) error {
			return report.WriteHTML(w, a, report.HTMLOptions{Timeline: tl, Views: j.views})
		},
		store.ReportText: func(w io.Writer) error {
			if !readSome {
				return nil
			}
			return report.WriteText(w, a, report.TextOptions{Timeline: tl, Width: report.DefaultWidth, Views: j.views})
		},
		store.ReportExplain: func(w io.Writer) error {
			if !readSome {
				return nil
			}
			return report.WriteText(w, a, report.TextOptions{Explain: true, Timeline: tl, Width: report.DefaultWidth, Views: j.views})
		},
	}
	// The reports are written side by side: each waits on JetStream's
	// acknowledgements more than on the CPU.
	kinds := store.ReportKinds()
	errs := make([]error, len(kinds))
	var wg sync.WaitGroup
	for i, kind := range kinds {
		wg.Go(func() { errs[i] = putReport(ctx, j.p.st, j.rec, kind, writers[kind]) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// putReport streams what write writes into the reports bucket.
func putReport(ctx context.Context, st *store.Store, rec *store.Record, kind store.ReportKind, write func(io.Writer) error) error {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(write(pw)) }()
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	_, err := st.PutReport(ctx, rec.Tenant, rec.ID, kind, pr)
	pr.CloseWithError(io.ErrClosedPipe) // ends the writer if Put stopped early
	if err != nil {
		return fmt.Errorf("storing the %s report: %w", kind, err)
	}
	return nil
}

// cleanup deletes a record's captures unless they are kept.
func (p *Pool) cleanup(ctx context.Context, rec *store.Record) {
	if p.cfg.KeepCaptures {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	for _, f := range rec.Files {
		if err := p.st.DeleteCapture(ctx, f.Object); err != nil {
			p.cfg.Logf("worker: job %s: %v", rec.ID, err)
		}
	}
}

// dropReports deletes the reports of a record deleted while it ran.
func (p *Pool) dropReports(ctx context.Context, rec *store.Record) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	if err := p.st.DeleteReports(ctx, rec.Tenant, rec.ID); err != nil {
		p.cfg.Logf("worker: job %s: %v", rec.ID, err)
	}
	for _, f := range rec.Files {
		p.st.DeleteCapture(ctx, f.Object)
	}
}

// errorLines returns one line per problem of an analysis's error, as the
// CLI prints them (without its "ftpdiag: " prefix), leaving out
// ErrNothingRead, which the status says.
func errorLines(err error) []string {
	if err == nil {
		return nil
	}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		var out []string
		for _, e := range joined.Unwrap() {
			out = append(out, errorLines(e)...)
		}
		return out
	}
	if errors.Is(err, analyze.ErrNothingRead) {
		return nil
	}
	return []string{err.Error()}
}
