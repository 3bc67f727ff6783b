package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// open starts an embedded server in a temporary directory and opens the
// store on it; both stop with the test.
func open(t *testing.T, maxStore int64) *Store {
	t.Helper()
	e, err := StartEmbedded(EmbeddedConfig{Dir: t.TempDir(), MaxStore: maxStore})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Shutdown)
	nc, err := e.Connect()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := Open(ctx, nc, Config{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRecordLifecycle(t *testing.T) {
	s := open(t, 0)
	ctx := context.Background()
	r := &Record{ID: NewID(), Tenant: "acme", Name: "x.pcap", Status: Queued, Created: time.Now().UTC()}
	rev, err := s.CreateRecord(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateRecord(ctx, r); err == nil {
		t.Error("CreateRecord of an existing id succeeded")
	}
	if _, _, err := s.Record(ctx, "other", r.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("another tenant's Record: err = %v, want ErrNotFound", err)
	}
	got, rev2, err := s.Record(ctx, "acme", r.ID)
	if err != nil || got.Name != "x.pcap" || rev2 != rev {
		t.Fatalf("Record = %+v, %d, %v", got, rev2, err)
	}
	got.Status = Running
	if _, err := s.UpdateRecord(ctx, got, rev); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateRecord(ctx, got, rev); !errors.Is(err, ErrConflict) {
		t.Errorf("stale UpdateRecord: err = %v, want ErrConflict", err)
	}
	n := 0
	if err := s.Records(ctx, "acme", func(*Record) bool { n++; return true }); err != nil || n != 1 {
		t.Errorf("Records: %d, %v; want 1", n, err)
	}
	if err := s.DeleteRecord(ctx, "acme", r.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Record(ctx, "acme", r.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleted Record: err = %v, want ErrNotFound", err)
	}
	if _, err := s.UpdateRecord(ctx, got, rev2); !errors.Is(err, ErrConflict) {
		t.Errorf("UpdateRecord after delete: err = %v, want ErrConflict", err)
	}
}

// failingReader yields n bytes, then an error: a client gone mid-upload.
type failingReader struct{ n int }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, io.ErrUnexpectedEOF
	}
	k := min(len(p), f.n)
	f.n -= k
	return k, nil
}

func TestObjectsLeaveNothingBehind(t *testing.T) {
	s := open(t, 0)
	ctx := context.Background()
	data := make([]byte, 1<<20+17)
	rand.Read(data)
	size, err := s.PutCapture(ctx, "c1", bytes.NewReader(data))
	if err != nil || size != int64(len(data)) {
		t.Fatalf("PutCapture = %d, %v", size, err)
	}
	rc, n, err := s.OpenCapture(ctx, "c1")
	if err != nil || n != size {
		t.Fatalf("OpenCapture = %d, %v", n, err)
	}
	back, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(back, data) {
		t.Fatalf("read back %d bytes, %v", len(back), err)
	}
	if _, err := s.PutCapture(ctx, "c2", &failingReader{n: 600 << 10}); err == nil {
		t.Error("PutCapture of a failing reader succeeded")
	}
	if err := s.DeleteCapture(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	objects, chunks, err := s.CountObjects(ctx, CapturesBucket)
	if err != nil || objects != 0 || chunks != 0 {
		t.Errorf("after delete and a failed upload: %d objects, %d chunks, %v; want none", objects, chunks, err)
	}
	if _, _, err := s.OpenCapture(ctx, "c1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("OpenCapture of a deleted capture: %v, want ErrNotFound", err)
	}
}

func TestFullStorage(t *testing.T) {
	s := open(t, 4<<20)
	ctx := context.Background()
	data := make([]byte, 8<<20)
	_, err := s.PutCapture(ctx, "big", bytes.NewReader(data))
	if !errors.Is(err, ErrFull) {
		t.Fatalf("PutCapture beyond the store's limit: %v, want ErrFull", err)
	}
	objects, chunks, err := s.CountObjects(ctx, CapturesBucket)
	if err != nil || objects != 0 || chunks != 0 {
		t.Errorf("after a refused upload: %d objects, %d chunks, %v; want none", objects, chunks, err)
	}
	if _, err := s.PutCapture(ctx, "small", bytes.NewReader(data[:1<<20])); err != nil {
		t.Errorf("a small capture after a refused one: %v", err)
	}
}

// TestSweepRequeuesLostJobs drops a queued job's message from the stream,
// as a stream leader that dies before its followers have it does (this
// test's one synthetic step: a single embedded server cannot lose it),
// and checks that Sweep queues it again once, forgets final and deleted
// records, and leaves a job the queue still holds alone.
func TestSweepRequeuesLostJobs(t *testing.T) {
	s := open(t, 0)
	ctx := context.Background()
	newJob := func() (*Record, Job) {
		r := &Record{ID: NewID(), Tenant: "acme", Status: Queued, Created: time.Now().UTC()}
		if _, err := s.CreateRecord(ctx, r); err != nil {
			t.Fatal(err)
		}
		j := Job{Tenant: r.Tenant, ID: r.ID}
		if err := s.Enqueue(ctx, j); err != nil {
			t.Fatal(err)
		}
		return r, j
	}
	lost, lostJob := newJob()
	_, keptJob := newJob()
	// A process that died between the record and its job.
	orphan := &Record{ID: NewID(), Tenant: "acme", Status: Queued, Created: time.Now().UTC()}
	if _, err := s.CreateRecord(ctx, orphan); err != nil {
		t.Fatal(err)
	}
	orphanJob := Job{Tenant: orphan.Tenant, ID: orphan.ID}
	final, _ := newJob()
	gone, _ := newJob()
	if err := s.jobs.Purge(ctx, jetstream.WithPurgeSubject(jobSubject(lostJob))); err != nil {
		t.Fatal(err)
	}
	_, rev, _ := s.Record(ctx, final.Tenant, final.ID)
	final.Status = Done
	if _, err := s.UpdateRecord(ctx, final, rev); err != nil {
		t.Fatal(err)
	}
	if err := s.records.Purge(ctx, recordKey(gone.Tenant, gone.ID)); err != nil {
		t.Fatal(err) // deleted behind the store's back: its mark stays
	}

	if again, err := s.Sweep(ctx, time.Hour); err != nil || len(again) != 0 {
		t.Fatalf("Sweep of young jobs = %v, %v; want nothing", again, err)
	}
	again, err := s.Sweep(ctx, 0)
	wantAgain := []Job{lostJob, orphanJob}
	sortJobs := func(js []Job) { slices.SortFunc(js, func(a, b Job) int { return strings.Compare(a.ID, b.ID) }) }
	sortJobs(again)
	sortJobs(wantAgain)
	if err != nil || !slices.Equal(again, wantAgain) {
		t.Fatalf("Sweep = %v, %v; want %v", again, err, wantAgain)
	}
	for _, j := range wantAgain {
		if _, err := s.jobs.GetLastMsgForSubject(ctx, jobSubject(j)); err != nil {
			t.Errorf("job %s is not queued again: %v", j.ID, err)
		}
	}
	// The consumer's counts follow the stream a moment later.
	n, err := s.QueueDepth(ctx)
	for deadline := time.Now().Add(5 * time.Second); err == nil && n != 5 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		n, err = s.QueueDepth(ctx)
	}
	if err != nil || n != 5 {
		t.Errorf("queue depth %d (%v), want 5 (the kept, final and deleted ones, the lost one again and the orphan)", n, err)
	}
	if again, err := s.Sweep(ctx, 0); err != nil || len(again) != 0 {
		t.Errorf("second Sweep = %v, %v; want nothing (the job is queued)", again, err)
	}
	marks, err := s.pendingMarks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, m := range marks {
		keys = append(keys, m.Key())
	}
	want := []string{recordKey(lost.Tenant, lost.ID), recordKey(keptJob.Tenant, keptJob.ID), recordKey(orphan.Tenant, orphan.ID)}
	slices.Sort(keys)
	slices.Sort(want)
	if !slices.Equal(keys, want) {
		t.Errorf("jobs in flight after sweeping: %v, want %v (final and deleted records forgotten)", keys, want)
	}
	if err := s.DeleteRecord(ctx, lost.Tenant, lost.ID); err != nil {
		t.Fatal(err)
	}
	if marks, _ := s.pendingMarks(ctx); len(marks) != 2 {
		t.Errorf("DeleteRecord left %d marks, want 2", len(marks))
	}
}

// TestSweepChunks leaves the chunks of an object without its meta, as an
// upload whose process was killed does (written here by publishing the
// chunks straight to the bucket's stream, the object store's own layout),
// and checks that SweepChunks removes them once old enough and keeps
// every complete object.
func TestSweepChunks(t *testing.T) {
	s := open(t, 0)
	ctx := context.Background()
	if _, err := s.PutCapture(ctx, "kept", bytes.NewReader(make([]byte, 3*chunkSize))); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := s.js.Publish(ctx, "$O."+CapturesBucket+".C.ORPHANNUID", make([]byte, chunkSize)); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := s.SweepChunks(ctx, time.Hour); err != nil || n != 0 {
		t.Errorf("SweepChunks of young chunks = %d, %v; want 0", n, err)
	}
	if n, err := s.SweepChunks(ctx, 0); err != nil || n != 1 {
		t.Errorf("SweepChunks = %d, %v; want 1", n, err)
	}
	objects, chunks, err := s.CountObjects(ctx, CapturesBucket)
	if err != nil || objects != 1 || chunks != 3 {
		t.Errorf("after the sweep: %d objects, %d chunks (%v); want the kept object's 1 and 3", objects, chunks, err)
	}
	rc, n, err := s.OpenCapture(ctx, "kept")
	if err != nil || n != 3*chunkSize {
		t.Fatalf("the kept object: %d bytes, %v", n, err)
	}
	rc.Close()
}

// emptyWrites is a reader that, like a pipe whose writer writes empty
// strings, returns many empty reads between its bytes.
type emptyWrites struct {
	data  []byte
	empty int
}

func (e *emptyWrites) Read(p []byte) (int, error) {
	if len(e.data) == 0 {
		return 0, io.EOF
	}
	if e.empty < 1000 {
		e.empty++
		return 0, nil
	}
	e.empty = 0
	n := copy(p[:min(len(p), 7)], e.data)
	e.data = e.data[n:]
	return n, nil
}

// TestPutThroughEmptyReads stores an object from a reader that returns
// thousands of empty reads (as a report written through a pipe does) and
// reads it back whole.
func TestPutThroughEmptyReads(t *testing.T) {
	s := open(t, 0)
	ctx := context.Background()
	data := bytes.Repeat([]byte("0123456789"), 300)
	if _, err := s.PutCapture(ctx, "empty-reads", &emptyWrites{data: data}); err != nil {
		t.Fatalf("PutCapture: %v", err)
	}
	rc, _, err := s.OpenCapture(ctx, "empty-reads")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if back, err := io.ReadAll(rc); err != nil || !bytes.Equal(back, data) {
		t.Errorf("read back %d bytes (%v), want %d", len(back), err, len(data))
	}
}

// TestLandedUpdate checks how an update whose answer was lost is found to
// have been kept: only the same bytes at a later revision count.
func TestLandedUpdate(t *testing.T) {
	s := open(t, 0)
	ctx := context.Background()
	r := &Record{ID: NewID(), Tenant: "acme", Name: "x.pcap", Status: Queued, Created: time.Now().UTC()}
	rev, err := s.CreateRecord(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	r.Status = Done
	rev2, err := s.UpdateRecord(ctx, r, rev)
	if err != nil {
		t.Fatal(err)
	}
	kept, _ := json.Marshal(r)
	other, _ := json.Marshal(&Record{ID: r.ID, Tenant: r.Tenant, Status: Failed})
	key := recordKey(r.Tenant, r.ID)
	defer func(w time.Duration) { landWait = w }(landWait)
	landWait = time.Second
	tests := []struct {
		name    string
		value   []byte
		rev     uint64
		want    uint64
		unknown bool
	}{
		{"kept", kept, rev, rev2, false},
		{"another value", other, rev, 0, false},
		// Still at the revision read: not kept, or not yet seen.
		{"not past the revision read", kept, rev2, 0, true},
	}
	for _, tc := range tests {
		got, err := s.landed(ctx, key, tc.value, tc.rev)
		if got != tc.want || (err != nil) != tc.unknown {
			t.Errorf("%s: landed = %d, %v; want %d, unknown %v", tc.name, got, err, tc.want, tc.unknown)
		}
	}
	if err := s.DeleteRecord(ctx, r.Tenant, r.ID); err != nil {
		t.Fatal(err)
	}
	if n, err := s.landed(ctx, key, kept, rev); n != 0 || err != nil {
		t.Errorf("deleted record: landed = %d, %v; want 0, nil", n, err)
	}
}
