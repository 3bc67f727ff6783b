package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"ftpdiag/internal/gen"
	"ftpdiag/service/api"
	"ftpdiag/service/store"
)

// The cluster test's JetStream settings, given to every process.
const (
	clusterAckWait    = 2 * time.Second
	clusterMaxDeliver = 5
	clusterUploads    = 300
	clusterClients    = 6
	// slowCaptureSize makes an analysis, streamed from the replicated
	// object store, outlast the ack wait.
	slowCaptureSize = 768 << 20
)

var clusterStoreConfig = store.Config{Replicas: 3, AckWait: clusterAckWait, MaxDeliver: clusterMaxDeliver}

// buildFtpdiagBinary builds this command once into a temporary directory.
func buildFtpdiagBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "ftpdiag")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// clusterRig is a 3-node NATS cluster, one front end and the workers.
type clusterRig struct {
	t       *testing.T
	bin     string
	nats    *natsCluster
	front   *process
	base    string
	client  *http.Client
	workers []*process
}

func (r *clusterRig) natsArgs() []string {
	return []string{"--nats", r.nats.URLs(), "--replicas", "3", "--ack-wait", clusterAckWait.String(),
		"--max-deliveries", fmt.Sprint(clusterMaxDeliver)}
}

// startFront starts `ftpdiag serve --nats ... --workers 0`.
func (r *clusterRig) startFront() {
	args := append([]string{"serve", "--listen", "127.0.0.1:0", "--workers", "0", "--uploads-per-tenant", "64", "--data", r.t.TempDir()}, r.natsArgs()...)
	r.front = startProcess(r.t, "front end", r.bin, args...)
	line := r.front.waitOutput(r.t, "ftpdiag serve: http://", 60*time.Second)
	url, _, _ := strings.Cut(strings.TrimPrefix(line, "ftpdiag serve: "), " ")
	r.base = strings.TrimSuffix(url, "/")
}

// startWorker starts `ftpdiag worker` with extra flags.
func (r *clusterRig) startWorker(extra ...string) *process {
	args := append(append([]string{"worker", "--concurrency", "1"}, r.natsArgs()...), extra...)
	w := startProcess(r.t, fmt.Sprintf("worker %d", len(r.workers)+1), r.bin, args...)
	w.waitOutput(r.t, "workers on nats://", 60*time.Second)
	r.workers = append(r.workers, w)
	return w
}

// upload posts a file's bytes as the raw body, retrying while the
// cluster answers 5xx or not at all (a node was just killed).
func (r *clusterRig) upload(path, name string) (api.Accepted, error) {
	var last error
	for attempt := range 10 {
		if attempt > 0 {
			time.Sleep(500 * time.Millisecond)
		}
		f, err := os.Open(path)
		if err != nil {
			return api.Accepted{}, err
		}
		resp, err := r.client.Post(r.base+"/api/v1/captures?name="+name, "application/octet-stream", f)
		f.Close()
		if err != nil {
			last = err
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			last = fmt.Errorf("%s: %s", resp.Status, body)
			continue
		}
		if resp.StatusCode != http.StatusAccepted {
			return api.Accepted{}, fmt.Errorf("%s: %s", resp.Status, body)
		}
		var acc api.Accepted
		return acc, json.Unmarshal(body, &acc)
	}
	return api.Accepted{}, fmt.Errorf("upload %s: %w", name, last)
}

// get GETs a path of the front end, retrying on 5xx.
func (r *clusterRig) get(path string) ([]byte, int) {
	r.t.Helper()
	for attempt := range 20 {
		if attempt > 0 {
			time.Sleep(500 * time.Millisecond)
		}
		resp, err := r.client.Get(r.base + path)
		if err != nil {
			continue
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			r.t.Logf("GET %s: %s, body cut: %v (trying again)", path, resp.Status, err)
			continue // a cut answer, as a client sees it: try again
		}
		if resp.StatusCode < 500 {
			return body, resp.StatusCode
		}
	}
	r.t.Fatalf("GET %s: no answer after 20 tries", path)
	return nil, 0
}

// wait long-polls a capture until it is final, for at most d.
func (r *clusterRig) wait(id string, d time.Duration) api.Capture {
	r.t.Helper()
	deadline := time.Now().Add(d)
	for {
		body, code := r.get("/api/v1/captures/" + id + "?wait=10s")
		var c api.Capture
		if code != http.StatusOK || json.Unmarshal(body, &c) != nil {
			r.t.Fatalf("capture %s: %d %s", id, code, body)
		}
		if c.Status.Final() {
			return c
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("capture %s still %s after %v", id, c.Status, d)
		}
	}
}

// workerLog is every worker's standard error, together.
func (r *clusterRig) workerLog() string {
	var b strings.Builder
	for _, w := range r.workers {
		b.WriteString(w.stderr.String())
	}
	return b.String()
}

// finalLine is a worker's line for a record it made final; maybeFinal
// one for a record whose final update lost its answer (a NATS node died)
// without the worker finding out whether it was kept: it then hands the
// job back, and the next delivery either finds the record final
// ("already done") or analyses again and logs it done.
var (
	finalLine  = regexp.MustCompile(`job ([0-9a-f]{32}) (done|failed)`)
	maybeFinal = regexp.MustCompile(`job ([0-9a-f]{32}) may be (done|failed)`)
)

// finals counts, per capture, the workers that made its record final,
// and those that may have (see maybeFinal).
func (r *clusterRig) finals() (sure, maybe map[string]int) {
	log := r.workerLog()
	sure, maybe = map[string]int{}, map[string]int{}
	for _, m := range finalLine.FindAllStringSubmatch(log, -1) {
		sure[m[1]]++
	}
	for _, m := range maybeFinal.FindAllStringSubmatch(log, -1) {
		maybe[m[1]]++
	}
	return sure, maybe
}

// finalOnce checks that one worker made a capture's record final: one
// said so, or none did and one at least may have (its answer lost),
// after which, the record being final, no worker analysed it again.
func finalOnce(sure, maybe int) error {
	switch {
	case sure == 1:
		return nil
	case sure == 0 && maybe > 0:
		return nil
	default:
		return fmt.Errorf("made final by %d workers (and perhaps by %d more whose answer was lost), want 1", sure, maybe)
	}
}

// cliReports runs the CLI on each fixture, in the fixtures directory so
// that the report names the file as the upload does.
func cliReports(t *testing.T, bin string, names []string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, n := range names {
		cmd := exec.Command(bin, "--format", "json", n)
		cmd.Dir = filepath.Dir(fixturePath(n))
		b, err := cmd.Output()
		if _, isExit := err.(*exec.ExitError); err != nil && !isExit {
			t.Fatalf("ftpdiag %s: %v", n, err)
		}
		out[n] = b
	}
	return out
}

const fixtureDir = "../../fixtures/captures"

func fixturePath(name string) string {
	if filepath.IsAbs(name) {
		return name
	}
	return filepath.Join(fixtureDir, name)
}

// fixtureNames lists the shipped captures.
func fixtureNames(t *testing.T) []string {
	t.Helper()
	var names []string
	for _, pat := range []string{"*.pcap", "*.pcapng", "*.pcap.gz", "*.pcapng.gz"} {
		m, _ := filepath.Glob(filepath.Join(fixtureDir, pat))
		for _, p := range m {
			names = append(names, filepath.Base(p))
		}
	}
	sort.Strings(names)
	if len(names) == 0 {
		t.Fatal("no fixture captures")
	}
	return names
}

// TestCluster runs the service on a real 3-node NATS cluster (replicas
// 3) with one front end and three worker processes: 300 fixture uploads
// while one NATS node and one worker (mid-job) are killed with SIGKILL;
// every capture ends done exactly once with the CLI's report, and nothing
// is left once they are deleted. Then a worker stopped with
// SIGTERM hands its job back, and a worker on a slow large capture keeps
// its job through in-progress acks past the ack wait.
func TestCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a NATS cluster and builds the binary")
	}
	cluster := startNATSCluster(t, 3)
	r := &clusterRig{t: t, bin: buildFtpdiagBinary(t), nats: cluster, client: &http.Client{Timeout: 60 * time.Second}}
	r.startFront()
	// Worker 1 holds its first job (with in-progress acks) until it is
	// killed; workers 2 and 3 analyse.
	victim := r.startWorker("--debug-hold-running", "10m")
	r.startWorker()
	r.startWorker()

	names := fixtureNames(t)
	want := cliReports(t, r.bin, names)
	var killNode sync.Once
	accepted := r.uploadAll(names, func(done int) {
		if done >= clusterUploads/2 {
			killNode.Do(func() {
				cluster.nodes[2].kill9(t)
				t.Logf("killed NATS node n2 after %d uploads", done)
			})
		}
	})
	held := victim.waitOutput(t, "started (delivery 1)", 60*time.Second)
	heldID := finalLineID(held)
	victim.kill9(t)
	t.Logf("killed worker 1 while it held job %s", heldID)

	r.checkAllDone(accepted, want, heldID)
	r.deleteAll(accepted)
	st := cluster.openStore(t, clusterStoreConfig)
	checkEmpty(t, st)

	t.Run("SIGTERM hands back", func(t *testing.T) { r.checkDrain(t, names[0], want[names[0]]) })
	t.Run("slow capture keeps its job", func(t *testing.T) { r.checkSlowCapture(t) })
}

// errText is a capture's error, "" when none.
func errText(c api.Capture) string {
	if c.Error == nil {
		return ""
	}
	return *c.Error
}

var jobID = regexp.MustCompile(`job ([0-9a-f]{32})`)

func finalLineID(line string) string {
	if m := jobID.FindStringSubmatch(line); m != nil {
		return m[1]
	}
	return ""
}

// uploadAll uploads the fixtures cyclically, clusterUploads in all, from
// clusterClients clients; progress is called with each count of uploads
// done. It returns the fixture of each accepted capture id.
func (r *clusterRig) uploadAll(names []string, progress func(done int)) map[string]string {
	t := r.t
	accepted := map[string]string{}
	var mu sync.Mutex
	next := make(chan int)
	var wg sync.WaitGroup
	for range clusterClients {
		wg.Go(func() {
			for i := range next {
				n := names[i%len(names)]
				acc, err := r.upload(fixturePath(n), n)
				mu.Lock()
				if err != nil {
					t.Errorf("upload %d (%s): %v", i, n, err)
				} else {
					accepted[acc.ID] = n
				}
				done := len(accepted)
				mu.Unlock()
				progress(done)
			}
		})
	}
	for i := range clusterUploads {
		next <- i
	}
	close(next)
	wg.Wait()
	if len(accepted) != clusterUploads {
		t.Fatalf("%d uploads accepted, want %d", len(accepted), clusterUploads)
	}
	return accepted
}

// checkAllDone waits for every capture and checks it ended done, once,
// with the CLI's report; heldID, the killed worker's job, took two
// attempts.
func (r *clusterRig) checkAllDone(accepted map[string]string, want map[string][]byte, heldID string) {
	t := r.t
	deadline := time.Now().Add(2 * time.Minute)
	attempts := map[int]int{}
	for id, name := range accepted {
		c := r.wait(id, time.Until(deadline))
		attempts[c.Attempts]++
		if c.Status != store.Done {
			t.Errorf("%s (%s): %s, %q", id, name, c.Status, errText(c))
			continue
		}
		if id == heldID && c.Attempts != 2 {
			t.Errorf("the killed worker's job %s: %d attempts, want 2", id, c.Attempts)
		}
		body, code := r.get("/api/v1/captures/" + id + "/report")
		if code != http.StatusOK || !bytes.Equal(body, want[name]) {
			t.Errorf("%s (%s): the report (%d, %d bytes) differs from the CLI's (%d bytes)", id, name, code, len(body), len(want[name]))
		}
	}
	if _, ok := accepted[heldID]; !ok {
		t.Errorf("the killed worker held %q, not an uploaded capture", heldID)
	}
	t.Logf("attempts per capture: %v", attempts)
	// Exactly once: one worker made each record final, none made it twice.
	sure, maybe := r.finals()
	unconfirmed := 0
	for id := range accepted {
		if err := finalOnce(sure[id], maybe[id]); err != nil {
			t.Errorf("capture %s %v", id, err)
		}
		if sure[id] == 0 {
			unconfirmed++
		}
	}
	if unconfirmed > 0 {
		t.Logf("%d captures made final by a worker that lost the answer (final, not analysed again)", unconfirmed)
	}
	for id := range sure {
		if _, ok := accepted[id]; !ok {
			t.Errorf("workers finished capture %s, which no upload was accepted as", id)
		}
	}
	var l api.List
	body, _ := r.get("/api/v1/captures?limit=1&status=queued")
	if json.Unmarshal(body, &l) != nil || len(l.Captures) != 0 {
		t.Errorf("captures still queued: %s", body)
	}
}

// deleteAll deletes every capture through the API.
func (r *clusterRig) deleteAll(accepted map[string]string) {
	for id := range accepted {
		for attempt := 0; ; attempt++ {
			req, _ := http.NewRequest(http.MethodDelete, r.base+"/api/v1/captures/"+id, nil)
			resp, err := r.client.Do(req)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusNoContent {
					break
				}
				err = fmt.Errorf("%s", resp.Status)
			}
			if attempt == 5 {
				r.t.Fatalf("DELETE %s: %v", id, err)
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
}

// checkEmpty checks that no capture, report or record is left.
func checkEmpty(t *testing.T, st *store.Store) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	for _, b := range []string{store.CapturesBucket, store.ReportsBucket} {
		objects, chunks, err := st.CountObjects(ctx, b)
		if err != nil || objects != 0 || chunks != 0 {
			t.Errorf("%s after deleting every capture: %d objects, %d chunks (%v)", b, objects, chunks, err)
		}
	}
	left := 0
	if err := st.Records(ctx, api.OpenTenant, func(*store.Record) bool { left++; return true }); err != nil || left != 0 {
		t.Errorf("records after deleting every capture: %d (%v)", left, err)
	}
	if n, err := st.QueueDepth(ctx); err != nil || n != 0 {
		t.Errorf("jobs left in the queue: %d (%v)", n, err)
	}
	// A record whose storing failed when the NATS node died may leave its
	// note of a job in flight; the workers' sweep settles it.
	inFlight := func() (int, error) { return st.InFlight(ctx) }
	n, err := inFlight()
	for deadline := time.Now().Add(clusterStoreConfig.SweepAge() * 2); n != 0 && err == nil && time.Now().Before(deadline); {
		time.Sleep(time.Second)
		n, err = inFlight()
	}
	if err != nil || n != 0 {
		t.Errorf("jobs left in flight: %d (%v)", n, err)
	}
}

// checkDrain stops a worker holding a job with SIGTERM: it exits 0 after
// its drain timeout and hands the job back, which another worker then
// finishes.
func (r *clusterRig) checkDrain(t *testing.T, name string, want []byte) {
	for _, w := range r.workers[1:] {
		w.cmd.Process.Signal(syscall.SIGSTOP) // only the holder may take it
	}
	holder := r.startWorker("--debug-hold-running", "10m", "--drain-timeout", "500ms")
	acc, err := r.upload(fixturePath(name), name)
	if err != nil {
		t.Fatal(err)
	}
	holder.waitOutput(t, "job "+acc.ID+" started", 30*time.Second)
	stopped := time.Now()
	holder.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-holder.exited:
	case <-time.After(20 * time.Second):
		t.Fatal("the worker still runs 20 s after SIGTERM")
	}
	if holder.err != nil || !strings.Contains(holder.stderr.String(), "job "+acc.ID+" handed back") {
		t.Errorf("after SIGTERM: %v; stderr:\n%s", holder.err, holder.stderr.String())
	}
	for _, w := range r.workers[1:] {
		w.cmd.Process.Signal(syscall.SIGCONT)
	}
	c := r.wait(acc.ID, time.Minute)
	took := time.Since(stopped)
	body, _ := r.get("/api/v1/captures/" + acc.ID + "/report")
	// Two attempts, or three when the next worker read the record from a
	// replica that had not yet seen the hand-back (it then retries).
	if c.Status != store.Done || c.Attempts < 2 || c.Attempts > 3 || !bytes.Equal(body, want) {
		t.Errorf("the job handed back: %s after %d attempts (report as the CLI's: %v)", c.Status, c.Attempts, bytes.Equal(body, want))
	}
	t.Logf("handed back and finished by another worker %v after SIGTERM", took.Round(time.Millisecond))
}

// checkSlowCapture uploads a large generated capture and checks that the
// worker analysing it kept it, with in-progress acks, for several ack
// wait: one attempt, one start, the CLI's report.
func (r *clusterRig) checkSlowCapture(t *testing.T) {
	path := filepath.Join(t.TempDir(), "slow.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gen.Write(f, gen.Config{Seed: 15, Size: slowCaptureSize, Format: gen.FormatPcap}); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	acc, err := r.upload(path, "slow.pcap")
	if err != nil {
		t.Fatal(err)
	}
	c := r.wait(acc.ID, 2*time.Minute)
	if c.Status != store.Done || c.Started == nil || c.Finished == nil {
		t.Fatalf("slow capture: %s %q", c.Status, errText(c))
	}
	held := c.Finished.Sub(*c.Started)
	starts := len(readLines(r.workerLog(), "job "+acc.ID+" started"))
	t.Logf("slow capture (%d MiB): held %v with an ack wait of %v", slowCaptureSize>>20, held.Round(time.Millisecond), clusterAckWait)
	if held < clusterAckWait*5/4 {
		t.Errorf("the analysis took %v, not a quarter past the ack wait (%v): the capture is too small to test the in-progress acks", held, clusterAckWait)
	}
	if c.Attempts != 1 || starts != 1 {
		t.Errorf("slow capture: %d attempts, %d workers started on it; want 1 and 1 (in-progress acks keep the job)", c.Attempts, starts)
	}
	want := cliReports(t, r.bin, []string{path})[path]
	body, _ := r.get("/api/v1/captures/" + acc.ID + "/report")
	want = bytes.ReplaceAll(want, []byte(`"file": "`+path+`"`), []byte(`"file": "slow.pcap"`))
	if !bytes.Equal(body, want) {
		t.Errorf("slow capture: the report (%d bytes) differs from the CLI's (%d bytes)", len(body), len(want))
	}
}

// TestFinalOnce checks TestCluster's accounting of the workers that made
// a record final.
func TestFinalOnce(t *testing.T) {
	for _, tc := range []struct {
		sure, maybe int
		ok          bool
	}{
		{1, 0, true},
		{0, 1, true}, // the answer lost, the next delivery found it final
		{1, 1, true}, // the answer lost and the update not kept: analysed again
		{0, 0, false},
		{2, 0, false},
		{2, 1, false},
	} {
		if err := finalOnce(tc.sure, tc.maybe); (err == nil) != tc.ok {
			t.Errorf("finalOnce(%d, %d) = %v, want ok %v", tc.sure, tc.maybe, err, tc.ok)
		}
	}
}
