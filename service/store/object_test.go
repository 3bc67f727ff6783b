package store

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// dropChunks purges an object's chunks and keeps its meta: a reader of it
// waits for chunks the server will never send (as when a capture is
// deleted between its meta and its first chunk).
func dropChunks(t *testing.T, s *Store, obs jetstream.ObjectStore, bucket, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	info, err := obs.GetInfo(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	st, err := s.js.Stream(ctx, "OBJ_"+bucket)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Purge(ctx, jetstream.WithPurgeSubject("$O."+bucket+".C."+info.NUID)); err != nil {
		t.Fatal(err)
	}
}

// TestObjectOpenEndsWithContext opens an object whose chunks never come
// and cancels the context: the open must end at once, not at the
// context's deadline (nats.go's reader, waiting on its pipe, ignored the
// cancellation; a worker so held kept Pool.Drain waiting).
func TestObjectOpenEndsWithContext(t *testing.T) {
	s := open(t, 0)
	data := bytes.Repeat([]byte("x"), 3*chunkSize)
	for _, tc := range []struct {
		name   string
		bucket string
		object string
		obs    jetstream.ObjectStore
		put    func(context.Context) error
		open   func(context.Context) (io.ReadCloser, int64, error)
	}{
		{"capture", CapturesBucket, "c", s.captures,
			func(ctx context.Context) error { _, err := s.PutCapture(ctx, "c", bytes.NewReader(data)); return err },
			func(ctx context.Context) (io.ReadCloser, int64, error) { return s.OpenCapture(ctx, "c") }},
		{"report", ReportsBucket, ReportName("acme", "r", ReportJSON), s.reports,
			func(ctx context.Context) error {
				_, err := s.PutReport(ctx, "acme", "r", ReportJSON, bytes.NewReader(data))
				return err
			},
			func(ctx context.Context) (io.ReadCloser, int64, error) {
				return s.OpenReport(ctx, "acme", "r", ReportJSON)
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.put(context.Background()); err != nil {
				t.Fatal(err)
			}
			dropChunks(t, s, tc.obs, tc.bucket, tc.object)
			const deadline = 20 * time.Second
			ctx, cancel := context.WithTimeout(context.Background(), deadline)
			defer cancel()
			time.AfterFunc(300*time.Millisecond, cancel)
			start := time.Now()
			rc, _, err := tc.open(ctx)
			if err == nil {
				rc.Close()
			}
			if took := time.Since(start); took > 5*time.Second || err == nil {
				t.Errorf("open of an object without chunks, cancelled after 300ms: %v after %v; want an error at once", err, took.Round(time.Millisecond))
			}
		})
	}
}

// fakeObjects is an object store whose Get hands out fakeResult and
// keeps the context it was given.
type fakeObjects struct {
	jetstream.ObjectStore
	got chan context.Context
	res *fakeResult
}

func (f *fakeObjects) Get(ctx context.Context, _ string, _ ...jetstream.GetObjectOpt) (jetstream.ObjectResult, error) {
	f.got <- ctx
	return f.res, nil
}

// fakeResult is an object being read whose Read waits for release, as
// nats.go's does for a chunk, and which records its Close.
type fakeResult struct {
	jetstream.ObjectResult
	release chan struct{}
	closed  chan struct{}
}

func (r *fakeResult) Read(p []byte) (int, error) {
	<-r.release
	return copy(p, "chunk"), nil
}

func (r *fakeResult) Close() error {
	close(r.closed)
	return nil
}

// TestObjectReaderCancel checks what getObject promises the object
// store's reader: the caller's cancellation ends a Read waiting for a
// chunk, but not the context the object store's subscription lives by
// (nats.go drops it then, and a Read waiting on it never ends); Close
// ends that context, once the abandoned Read is over.
func TestObjectReaderCancel(t *testing.T) {
	for _, tc := range []struct {
		name     string
		deadline bool
	}{{"without deadline", false}, {"with deadline", true}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			if tc.deadline {
				ctx, cancel = context.WithTimeout(context.Background(), time.Minute)
			}
			defer cancel()
			res := &fakeResult{release: make(chan struct{}), closed: make(chan struct{})}
			fake := &fakeObjects{got: make(chan context.Context, 1), res: res}
			o, err := getObject(ctx, fake, "x")
			if err != nil {
				t.Fatal(err)
			}
			sub := <-fake.got
			want, wantOK := ctx.Deadline()
			if got, ok := sub.Deadline(); got != want || ok != wantOK {
				t.Errorf("the object store's deadline: %v %v, want the caller's %v %v", got, ok, want, wantOK)
			}
			ended := make(chan error, 1)
			go func() {
				_, err := o.Read(make([]byte, 16))
				ended <- err
			}()
			time.Sleep(50 * time.Millisecond)
			cancel()
			select {
			case err := <-ended:
				if !errors.Is(err, context.Canceled) {
					t.Errorf("Read after cancel: %v, want context.Canceled", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("a Read waiting for a chunk did not end with its context")
			}
			if sub.Err() != nil {
				t.Error("the caller's cancellation ended the object store's subscription while a Read waited on it")
			}
			closed := make(chan error, 1)
			go func() { closed <- o.Close() }()
			select {
			case <-closed:
			case <-time.After(5 * time.Second):
				t.Fatal("Close waited for the abandoned Read")
			}
			select {
			case <-res.closed:
				t.Error("the object was closed under its abandoned Read")
			case <-time.After(50 * time.Millisecond):
			}
			close(res.release)
			select {
			case <-res.closed:
			case <-time.After(5 * time.Second):
				t.Fatal("the object was not closed once its abandoned Read ended")
			}
			deadline := time.Now().Add(5 * time.Second)
			for sub.Err() == nil && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if sub.Err() == nil {
				t.Error("Close did not end the object store's subscription")
			}
		})
	}
}

// TestDropBroken checks what a Put that failed may leave (its meta stored
// while nats.go purged its chunks, the answer lost with a NATS node):
// such an object is removed, a complete one kept.
func TestDropBroken(t *testing.T) {
	s := open(t, 0)
	ctx := context.Background()
	for _, tc := range []struct {
		name        string
		put, broken bool
		wantObjects int
	}{
		{"complete", true, false, 1},
		{"meta without its chunks", true, true, 0},
		{"never stored", false, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := "capture/" + NewID()
			if tc.put {
				if _, err := s.PutCapture(ctx, name, bytes.NewReader(make([]byte, 2*chunkSize+1))); err != nil {
					t.Fatal(err)
				}
			}
			if tc.broken {
				dropChunks(t, s, s.captures, CapturesBucket, name)
			}
			if err := s.dropBroken(ctx, CapturesBucket, s.captures, name); err != nil {
				t.Fatal(err)
			}
			_, err := s.captures.GetInfo(ctx, name)
			if objects := map[bool]int{true: 1}[err == nil]; objects != tc.wantObjects {
				t.Errorf("after dropBroken: %d objects named %s (%v), want %d", objects, name, err, tc.wantObjects)
			}
			if tc.wantObjects == 1 {
				if err := s.DeleteCapture(ctx, name); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}
