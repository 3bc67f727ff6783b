package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// maxDeliveriesSubject is where JetStream announces a job that reached
// the consumer's MaxDeliver without being acknowledged.
const maxDeliveriesSubject = "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES." + JobsStream + "." + WorkersConsumer

// deliveryExceeded is the part of JetStream's max_deliver advisory read
// here (io.nats.jetstream.advisory.v1.max_deliver).
type deliveryExceeded struct {
	StreamSeq  uint64 `json:"stream_seq"`
	Deliveries uint64 `json:"deliveries"`
}

// Exhausted is a job JetStream will not deliver again: it was delivered
// MaxDeliver times and never acknowledged.
type Exhausted struct {
	Job        Job
	Deliveries int
	seq        uint64
}

// WatchExhausted calls fn, on a goroutine of nats.go, with each job that
// reaches the consumer's MaxDeliver (its last worker died or failed), and
// then removes the job from the queue. The advisories are core NATS
// messages: a job that exhausts its deliveries while no process watches
// stays in the queue with its record running. Cancel stops watching.
func (s *Store) WatchExhausted(fn func(context.Context, Exhausted)) (cancel func(), err error) {
	nc := s.js.Conn()
	sub, err := nc.Subscribe(maxDeliveriesSubject, func(m *nats.Msg) {
		var adv deliveryExceeded
		if json.Unmarshal(m.Data, &adv) != nil || adv.StreamSeq == 0 {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), advisoryTimeout)
		defer cancel()
		raw, err := s.jobs.GetMsg(ctx, adv.StreamSeq)
		if err != nil {
			return // another watcher handled it first, or it expired
		}
		var j Job
		if json.Unmarshal(raw.Data, &j) == nil {
			fn(ctx, Exhausted{Job: j, Deliveries: int(adv.Deliveries), seq: adv.StreamSeq})
		}
		s.jobs.DeleteMsg(ctx, adv.StreamSeq) // a watcher that loses the race finds it gone
	})
	if err != nil {
		return nil, fmt.Errorf("watching exhausted jobs: %w", err)
	}
	return func() { sub.Unsubscribe() }, nil
}

// advisoryTimeout bounds the store calls of an advisory's handler.
const advisoryTimeout = 30 * time.Second

// outcomeKind names the object that holds an analysis's outcome beside
// its reports. It is written after every report, so its presence says
// the reports are complete.
const outcomeKind ReportKind = "outcome.json"

// Outcome is what an analysis decided about its record: every field a
// worker sets when it makes the record final. It is stored beside the
// reports, so a job delivered again after a crash between the reports
// and the record finishes the record without analysing again.
type Outcome struct {
	Status      Status   `json:"status"`
	Reason      string   `json:"reason,omitempty"`
	Error       string   `json:"error,omitempty"`
	NothingRead bool     `json:"nothing_read,omitempty"`
	Summary     *Summary `json:"summary"`
	Reports     bool     `json:"reports"`
	BytesRead   int64    `json:"bytes_read"`
}

// Apply makes r final as the outcome says; keep says whether the
// captures are kept.
func (o *Outcome) Apply(r *Record, keep bool) {
	now := time.Now().UTC()
	r.Status, r.Finished, r.Reason, r.NothingRead = o.Status, &now, o.Reason, o.NothingRead
	r.Error, r.Summary, r.Reports = o.Error, o.Summary, o.Reports
	r.Progress.BytesRead = o.BytesRead
	r.Keep = keep
}

// PutOutcome stores a record's outcome (once: an outcome already stored
// is kept).
func (s *Store) PutOutcome(ctx context.Context, tenant, id string, o *Outcome) error {
	b, err := json.Marshal(o)
	if err != nil {
		return err
	}
	if _, err := s.PutReport(ctx, tenant, id, outcomeKind, strings.NewReader(string(b))); err != nil {
		return fmt.Errorf("storing the outcome of %s: %w", id, err)
	}
	return nil
}

// maxOutcome bounds an outcome object read back.
const maxOutcome = 1 << 20

// Outcome reads a record's stored outcome; ErrNotFound when none is.
func (s *Store) Outcome(ctx context.Context, tenant, id string) (*Outcome, error) {
	rc, _, err := s.OpenReport(ctx, tenant, id, outcomeKind)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxOutcome))
	if err != nil {
		return nil, fmt.Errorf("reading the outcome of %s: %w", id, err)
	}
	o := &Outcome{}
	if err := json.Unmarshal(b, o); err != nil {
		return nil, fmt.Errorf("the outcome of %s: %w", id, err)
	}
	return o, nil
}

// reportExists reports whether an object is stored complete under name
// (the object store writes an object's meta after its last chunk).
func (s *Store) reportExists(ctx context.Context, name string) (bool, error) {
	_, err := s.reports.GetInfo(ctx, name)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("object %s: %w", name, err)
	}
	return true, nil
}
