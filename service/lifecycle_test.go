package service_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"ftpdiag/service"
	"ftpdiag/service/api"
	"ftpdiag/service/store"
	"ftpdiag/service/worker"
)

// eventually polls cond every 20 ms until it holds or limit passes; it
// returns whether it held, and the last state cond described.
func eventually(limit time.Duration, cond func() (bool, string)) (bool, string) {
	deadline := time.Now().Add(limit)
	for {
		ok, state := cond()
		if ok || time.Now().After(deadline) {
			return ok, state
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// storeState counts what the store holds: records of a tenant, capture
// objects and chunks, report objects and chunks, jobs queued or held,
// jobs in flight.
type storeState struct {
	records                int
	captures, reports      int
	captureChunks, rChunks uint64
	queue, inFlight        int
}

func (s storeState) empty() bool { return s == storeState{} }

func (s storeState) String() string {
	return fmt.Sprintf("%d records, %d captures (%d chunks), %d reports (%d chunks), %d jobs queued or held, %d in flight",
		s.records, s.captures, s.captureChunks, s.reports, s.rChunks, s.queue, s.inFlight)
}

// state reads storeState for a tenant.
func (ts *testService) state(tenant string) storeState {
	ts.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st := ts.Store()
	var s storeState
	var err error
	s.records = ts.records(tenant)
	if s.captures, s.captureChunks, err = st.CountObjects(ctx, store.CapturesBucket); err != nil {
		ts.t.Fatal(err)
	}
	if s.reports, s.rChunks, err = st.CountObjects(ctx, store.ReportsBucket); err != nil {
		ts.t.Fatal(err)
	}
	if s.queue, err = st.QueueDepth(ctx); err != nil {
		ts.t.Fatal(err)
	}
	if s.inFlight, err = st.InFlight(ctx); err != nil {
		ts.t.Fatal(err)
	}
	return s
}

// TestRetention runs a service whose retention is 2 s, with captures
// kept: once analysed, the record, its reports and its capture are there;
// after the retention they are gone (GET 404, nothing left in the store).
func TestRetention(t *testing.T) {
	const retention = 2 * time.Second
	ts := startService(t, func(c *service.Config) {
		c.Store.Retention = retention
		c.Worker.KeepCaptures = true
	})
	acc := ts.uploadFile(acmeToken, "03-pasv-dropped-curl-client.pcap")
	if c := ts.wait(acmeToken, acc.ID); c.Status != store.Done {
		t.Fatalf("status %s, error %v", c.Status, c.Error)
	}
	before := ts.state("acme")
	if before.records != 1 || before.captures != 1 || before.reports == 0 {
		t.Fatalf("right after the analysis: %v, want the record, the capture and its reports", before)
	}
	ok, last := eventually(retention+20*time.Second, func() (bool, string) {
		s := ts.state("acme")
		return s.empty(), s.String()
	})
	if !ok {
		t.Fatalf("20 s after the retention the store still holds %s", last)
	}
	for _, path := range []string{acc.StatusURL, acc.ReportURL, acc.HTMLURL, acc.JSONURL} {
		if r := ts.do("GET", path, acmeToken, nil); r.code != http.StatusNotFound {
			t.Errorf("GET %s after the retention: %v, want 404", path, r)
		}
	}
	var l api.List
	decode(t, ts.do("GET", "/api/v1/captures", acmeToken, nil).body, &l)
	if len(l.Captures) != 0 {
		t.Errorf("the list after the retention: %d captures", len(l.Captures))
	}
}

// TestDeleteQueuedAndRunning deletes a capture while its job waits in the
// queue and another while its job runs (held by HoldRunning before its
// analysis): each DELETE answers 204, then GET 404; once the worker has
// come to both jobs (the queue empty), nothing of either is left: no
// record, capture object, chunk, report or job in flight, and the
// records stay deleted (a late progress update does not bring one back).
func TestDeleteQueuedAndRunning(t *testing.T) {
	ts := startService(t, func(c *service.Config) {
		c.Worker.Workers = 1
		c.Worker.HoldRunning = 4 * time.Second
	})
	running := ts.uploadFile(acmeToken, "03-pasv-dropped-curl-client.pcap")
	queued := ts.uploadFile(acmeToken, "02-nat-pasv-curl-follow-client.pcap")
	status := func(id string) store.Status {
		r := ts.do("GET", "/api/v1/captures/"+id, acmeToken, nil)
		var c api.Capture
		decode(t, r.body, &c)
		return c.Status
	}
	if ok, last := eventually(30*time.Second, func() (bool, string) {
		s := status(running.ID)
		return s == store.Running, string(s)
	}); !ok {
		t.Fatalf("the first job is %s after 30 s, want running", last)
	}
	if s := ts.state("acme"); s.records != 2 || s.captures != 2 || s.queue != 2 {
		t.Fatalf("before the deletions: %v, want 2 records, 2 captures, 2 jobs", s)
	}
	for _, tc := range []struct {
		name string
		acc  api.Accepted
		want store.Status
	}{
		{"queued", queued, store.Queued},
		{"running", running, store.Running},
	} {
		if s := status(tc.acc.ID); s != tc.want {
			t.Fatalf("%s: the capture is %s before DELETE", tc.name, s)
		}
		if r := ts.do("DELETE", tc.acc.StatusURL, acmeToken, nil); r.code != http.StatusNoContent {
			t.Fatalf("%s: DELETE: %v, want 204", tc.name, r)
		}
		for _, path := range []string{tc.acc.StatusURL, tc.acc.ReportURL, "/captures/" + tc.acc.ID} {
			if r := ts.do("GET", path, acmeToken, nil); r.code != http.StatusNotFound {
				t.Errorf("%s: GET %s after DELETE: %v, want 404", tc.name, path, r)
			}
		}
	}
	// The worker comes to both jobs once its hold ends: the queue is then
	// empty, and what it wrote for the running job meanwhile is dropped.
	ok, last := eventually(30*time.Second, func() (bool, string) {
		s := ts.state("acme")
		return s.queue == 0, s.String()
	})
	if !ok {
		t.Fatalf("the worker has not finished with the deleted jobs after 30 s: %s", last)
	}
	if ok, last := eventually(5*time.Second, func() (bool, string) {
		s := ts.state("acme")
		return s.empty(), s.String()
	}); !ok {
		t.Errorf("after the deletions and the worker: %s, want nothing", last)
	}
	for _, acc := range []api.Accepted{queued, running} {
		if r := ts.do("GET", acc.StatusURL, acmeToken, nil); r.code != http.StatusNotFound {
			t.Errorf("GET %s once the worker is done: %v, want 404", acc.StatusURL, r)
		}
	}
	m := string(ts.do("GET", "/metrics", "", nil).body)
	if strings.Contains(m, "ftpdiag_jobs_total{") {
		t.Errorf("a deleted job was counted as analysed:\n%s", grepLines(m, "ftpdiag_jobs_total"))
	}
}

// readyz answers GET /readyz at base.
func readyz(t *testing.T, client *http.Client, base string) (int, string) {
	t.Helper()
	resp, err := client.Get(base + "/readyz")
	if err != nil {
		t.Fatalf("GET /readyz: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

// TestReadyzWhenJetStreamGoes runs the service on a NATS server of the
// test's (on a loopback port): /readyz answers 200, then 503 once that
// server is shut down under the running API, and 200 again once it is
// back on the same port and files; /healthz answers 200 throughout.
func TestReadyzWhenJetStreamGoes(t *testing.T) {
	dir := t.TempDir()
	emb, err := store.StartEmbedded(store.EmbeddedConfig{Dir: dir, Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	natsURL := emb.ClientURL()
	t.Cleanup(func() { emb.Shutdown() })
	ts := startService(t, func(c *service.Config) {
		c.NATS = &store.ClientConfig{URLs: []string{natsURL}, Name: "readyz test"}
	})
	ready := func(want int, what string) {
		t.Helper()
		var body string
		ok, _ := eventually(15*time.Second, func() (bool, string) {
			var code int
			code, body = readyz(t, ts.client, ts.base)
			return code == want, body
		})
		if !ok {
			t.Fatalf("%s: /readyz %q after 15 s, want %d", what, body, want)
		}
		if r := ts.do("GET", "/healthz", "", nil); r.code != http.StatusOK {
			t.Errorf("%s: /healthz %v", what, r)
		}
	}
	ready(http.StatusOK, "with JetStream")

	emb.Shutdown()
	ready(http.StatusServiceUnavailable, "JetStream shut down")
	if _, body := readyz(t, ts.client, ts.base); !strings.Contains(body, "JetStream") {
		t.Errorf("/readyz without JetStream says %q, want it named", body)
	}

	_, port, _ := net.SplitHostPort(strings.TrimPrefix(natsURL, "nats://"))
	emb, err = store.StartEmbedded(store.EmbeddedConfig{Dir: dir, Listen: "127.0.0.1:" + port})
	if err != nil {
		t.Fatalf("restarting NATS on port %s: %v", port, err)
	}
	ready(http.StatusOK, "JetStream back")
	acc := ts.uploadFile(acmeToken, "02-nat-pasv-curl-follow-client.pcap")
	if c := ts.wait(acmeToken, acc.ID); c.Status != store.Done {
		t.Errorf("an upload once JetStream is back: %s, %v", c.Status, c.Error)
	}
}

// TestReadyzBeforeWorkers serves the API on a real store with its
// readiness tied to a worker pool, as the service does: /readyz answers
// 503 ("workers not ready") before the pool is started, and 200 once its
// workers wait for jobs.
func TestReadyzBeforeWorkers(t *testing.T) {
	emb, err := store.StartEmbedded(store.EmbeddedConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emb.Shutdown)
	nc, err := emb.Connect()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := store.Open(ctx, nc, store.Config{})
	if err != nil {
		t.Fatal(err)
	}
	var pool atomic.Pointer[worker.Pool]
	h, err := api.New(ctx, api.Config{
		Store: st, TempDir: t.TempDir(), Logf: t.Logf,
		Ready: func() bool { p := pool.Load(); return p != nil && p.Ready() },
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	client := &http.Client{Timeout: 10 * time.Second}
	base := "http://" + ln.Addr().String()

	if code, body := readyz(t, client, base); code != http.StatusServiceUnavailable || !strings.Contains(body, "workers") {
		t.Errorf("/readyz before the workers: %d %q, want 503 naming the workers", code, body)
	}
	wctx, stop := context.WithCancel(context.Background())
	p := worker.Start(wctx, st, worker.Config{Workers: 2, Logf: t.Logf})
	t.Cleanup(func() { p.Drain(0); stop() })
	pool.Store(p)
	var body string
	if ok, _ := eventually(10*time.Second, func() (bool, string) {
		var code int
		code, body = readyz(t, client, base)
		return code == http.StatusOK, body
	}); !ok {
		t.Errorf("/readyz once the workers are started: %q after 10 s, want 200", body)
	}
}
