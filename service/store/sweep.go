package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// PendingBucket is the key-value bucket of the jobs queued and not yet
// finished, keyed "TENANT.ID": the index Sweep walks to find a job that
// the queue lost (a stream leader that died before its followers had the
// message). It holds only what is in flight, so walking it stays cheap
// however many records the retention keeps.
const PendingBucket = "ftpdiag-pending"

// pendingMark is the value of a key in PendingBucket.
type pendingMark struct {
	Queued time.Time `json:"queued"`
}

// jobSubject is the subject of one record's job: JobsSubject.TENANT.ID,
// so that Sweep can ask the stream whether the job is still there.
func jobSubject(j Job) string { return JobsSubject + "." + j.Tenant + "." + j.ID }

// markPending notes that j is in flight.
func (s *Store) markPending(ctx context.Context, j Job) error {
	b, _ := json.Marshal(pendingMark{Queued: time.Now().UTC()})
	err := retry(ctx, func(ctx context.Context, _ bool) error {
		_, err := s.pending.Put(ctx, recordKey(j.Tenant, j.ID), b)
		return err
	})
	if err != nil {
		return fmt.Errorf("noting job %s: %w", j.ID, classify(err))
	}
	return nil
}

// Settled removes j from the jobs in flight: its record is final or
// deleted. A mark left behind (its answer lost) is removed by Sweep.
func (s *Store) Settled(ctx context.Context, j Job) error {
	err := retry(ctx, func(ctx context.Context, _ bool) error {
		return s.pending.Purge(ctx, recordKey(j.Tenant, j.ID))
	})
	if err != nil {
		return fmt.Errorf("settling job %s: %w", j.ID, err)
	}
	return nil
}

// SweepAge is how long a job must have been in flight before Sweep
// checks it: longer than an Enqueue can take with its retries, so that a
// job being published is not published twice, and than the ack wait.
func (c Config) SweepAge() time.Duration {
	return max(2*c.AckWait, time.Duration(tries)*tryTimeout)
}

// Sweep finds the jobs in flight for longer than olderThan whose record
// is neither final nor deleted but whose message the queue no longer
// holds (lost when a NATS node died), and queues them again. It forgets
// the jobs whose record is final or gone. It returns the jobs queued
// again. Several processes may sweep at once: a job lost once is queued
// again once (the message id names the mark's revision), and a job queued
// twice is analysed once (workers acknowledge a final record's job
// without analysing).
func (s *Store) Sweep(ctx context.Context, olderThan time.Duration) ([]Job, error) {
	marks, err := s.pendingMarks(ctx)
	if err != nil {
		return nil, err
	}
	var requeued []Job
	var errs []error
	for _, e := range marks {
		if time.Since(e.Created()) < olderThan {
			continue
		}
		j, ok := jobOfKey(e.Key())
		if !ok {
			s.pending.Purge(ctx, e.Key()) // not ours: nothing to sweep
			continue
		}
		again, err := s.sweepOne(ctx, j, e.Revision())
		if err != nil {
			errs = append(errs, err)
		}
		if again {
			requeued = append(requeued, j)
		}
	}
	return requeued, errors.Join(errs...)
}

// pendingMarks reads every mark of PendingBucket.
func (s *Store) pendingMarks(ctx context.Context) ([]jetstream.KeyValueEntry, error) {
	w, err := s.pending.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("listing the jobs in flight: %w", err)
	}
	defer w.Stop()
	timer := time.NewTimer(listPageWait)
	defer timer.Stop()
	var marks []jetstream.KeyValueEntry
	for {
		select {
		case e, ok := <-w.Updates():
			if !ok || e == nil {
				return marks, ctx.Err()
			}
			marks = append(marks, e)
			timer.Reset(listPageWait)
		case <-timer.C:
			return nil, errors.New("listing the jobs in flight: JetStream did not answer")
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// sweepOne checks one job in flight, marked at revision rev, and queues
// it again if the queue lost it. It reports whether it did.
func (s *Store) sweepOne(ctx context.Context, j Job, rev uint64) (bool, error) {
	rec, recRev, err := s.Record(ctx, j.Tenant, j.ID)
	switch {
	case errors.Is(err, ErrNotFound) || err == nil && rec.Status.Final():
		return false, s.Settled(ctx, j)
	case err != nil:
		return false, err
	}
	_, err = s.jobs.GetLastMsgForSubject(ctx, jobSubject(j))
	if !errors.Is(err, jetstream.ErrMsgNotFound) {
		return false, err // still queued or held (nil), or no answer
	}
	// A worker may have made the record final and acknowledged its job
	// since it was read: queue again only what did not move.
	if _, now, err := s.Record(ctx, j.Tenant, j.ID); err != nil || now != recRev {
		return false, err
	}
	b, _ := json.Marshal(pendingMark{Queued: time.Now().UTC()})
	if _, err := s.pending.Update(ctx, recordKey(j.Tenant, j.ID), b, rev); err != nil {
		return false, nil // another sweeper took it, or it settled
	}
	if err := s.publish(ctx, j, j.Tenant+"."+j.ID+".sweep"+strconv.FormatUint(rev, 10)); err != nil {
		return false, err
	}
	return true, nil
}

// jobOfKey reads the job a PendingBucket key names.
func jobOfKey(key string) (Job, bool) {
	for i := range len(key) {
		if key[i] == '.' {
			j := Job{Tenant: key[:i], ID: key[i+1:]}
			return j, ValidTenant(j.Tenant) && ValidID(j.ID)
		}
	}
	return Job{}, false
}

// InFlight counts the jobs queued or running whose record is not yet
// known to be final or deleted.
func (s *Store) InFlight(ctx context.Context) (int, error) {
	marks, err := s.pendingMarks(ctx)
	return len(marks), err
}

// ChunkSweepAge is how long the chunks of an object without its meta
// (an upload or a report whose writer died: the object store writes the
// meta last) must have had no new chunk before SweepChunks removes them;
// an upload still arriving adds chunks more often than that.
const ChunkSweepAge = 30 * time.Minute

// SweepChunks removes, in the captures and reports buckets, the chunks
// that belong to no object and have had no new chunk for olderThan, and
// returns how many objects' chunks it removed.
func (s *Store) SweepChunks(ctx context.Context, olderThan time.Duration) (int, error) {
	removed := 0
	var errs []error
	for _, b := range []struct {
		name string
		obs  jetstream.ObjectStore
	}{{CapturesBucket, s.captures}, {ReportsBucket, s.reports}} {
		n, err := s.sweepBucketChunks(ctx, b.name, b.obs, olderThan)
		removed += n
		if err != nil {
			errs = append(errs, fmt.Errorf("sweeping %s: %w", b.name, err))
		}
	}
	return removed, errors.Join(errs...)
}

func (s *Store) sweepBucketChunks(ctx context.Context, bucket string, obs jetstream.ObjectStore, olderThan time.Duration) (int, error) {
	st, err := s.js.Stream(ctx, "OBJ_"+bucket)
	if err != nil {
		return 0, err
	}
	prefix := "$O." + bucket + ".C."
	info, err := st.Info(ctx, jetstream.WithSubjectFilter(prefix+">"))
	if err != nil || len(info.State.Subjects) == 0 {
		return 0, err
	}
	live := map[string]bool{}
	list, err := obs.List(ctx)
	if err != nil && !errors.Is(err, jetstream.ErrNoObjectsFound) {
		return 0, err
	}
	for _, o := range list {
		live[o.NUID] = true
	}
	removed := 0
	for subj := range info.State.Subjects {
		if live[subj[len(prefix):]] {
			continue
		}
		last, err := st.GetLastMsgForSubject(ctx, subj)
		if err != nil || time.Since(last.Time) < olderThan {
			continue // gone meanwhile, or still being written
		}
		// Its meta may have been written since the listing.
		if s.hasObjectWithNUID(ctx, obs, subj[len(prefix):]) {
			continue
		}
		if err := st.Purge(ctx, jetstream.WithPurgeSubject(subj)); err != nil {
			return removed, err
		}
		removed++
	}
	return removed, nil
}

// hasObjectWithNUID lists obs again for an object whose chunks are nuid.
func (s *Store) hasObjectWithNUID(ctx context.Context, obs jetstream.ObjectStore, nuid string) bool {
	list, err := obs.List(ctx)
	if err != nil {
		return !errors.Is(err, jetstream.ErrNoObjectsFound) // unsure: keep
	}
	for _, o := range list {
		if o.NUID == nuid {
			return true
		}
	}
	return false
}
