package service_test

import (
	"bufio"
	"bytes"
	"context"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"ftpdiag/service/api"
	"ftpdiag/service/store"
)

// buildBinary builds ftpdiag into a temporary directory.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "ftpdiag")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "ftpdiag/cmd/ftpdiag").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// child is `ftpdiag serve` running as a child process.
type child struct {
	*testService
	cmd    *exec.Cmd
	stderr *syncBuffer
}

// startChild starts `ftpdiag serve` on a loopback port and waits for the
// address it prints. The test's cleanup kills it by its PID.
func startChild(t *testing.T, bin string, args ...string) *child {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve", "--listen", "127.0.0.1:0"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	errBuf := &syncBuffer{}
	cmd.Stderr = errBuf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill() // by PID; harmless once it has exited
		cmd.Wait()
	})
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
	}()
	select {
	case line := <-lines:
		rest, ok := strings.CutPrefix(line, "ftpdiag serve: ")
		url, _, _ := strings.Cut(rest, " ")
		if !ok || !strings.HasPrefix(url, "http://127.0.0.1:") {
			t.Fatalf("serve printed %q", line)
		}
		ts := &testService{t: t, base: strings.TrimSuffix(url, "/"), client: &http.Client{Timeout: 30 * time.Second}}
		return &child{testService: ts, cmd: cmd, stderr: errBuf}
	case <-time.After(60 * time.Second):
		t.Fatalf("serve printed no address in 60 s; stderr:\n%s", errBuf.String())
	}
	return nil
}

// kill sends SIGKILL and waits for the process to end.
func (c *child) kill() {
	c.t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		c.t.Fatal(err)
	}
	c.cmd.Wait()
}

// TestSIGKILLRestart kills `ftpdiag serve` with SIGKILL while one job is
// being analysed and another waits, restarts it on the same --data, and
// checks that both finish, each once, with the CLI's report.
func TestSIGKILLRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	data := t.TempDir()
	common := []string{"--data", data, "--workers", "1", "--ack-wait", "2s"}

	first := startChild(t, bin, append(common, "--debug-hold-running", "1m")...)
	running := first.uploadFile("", "03-pasv-dropped-curl-client.pcap")
	queued := first.uploadFile("", "02-nat-pasv-curl-follow-client.pcap")
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := first.do("GET", running.StatusURL, "", nil)
		var c api.Capture
		decode(t, r.body, &c)
		if c.Status == store.Running {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the job is not running after 30 s: %s", c.Status)
		}
		time.Sleep(10 * time.Millisecond)
	}
	first.kill()

	second := startChild(t, bin, common...)
	for _, tc := range []struct {
		acc      api.Accepted
		name     string
		attempts int
	}{{running, "03-pasv-dropped-curl-client.pcap", 2}, {queued, "02-nat-pasv-curl-follow-client.pcap", 1}} {
		c := second.wait("", tc.acc.ID)
		if c.Status != store.Done || c.Attempts != tc.attempts {
			t.Errorf("%s after the restart: %s after %d attempts, want done after %d", tc.name, c.Status, c.Attempts, tc.attempts)
		}
		r := second.do("GET", tc.acc.ReportURL, "", nil)
		if !bytes.Equal(r.body, cliJSON(t, tc.name)) {
			t.Errorf("%s: the report after the restart differs from the CLI's", tc.name)
		}
	}
	// Once: the new process finished both jobs, and nothing is left queued.
	deadline = time.Now().Add(10 * time.Second)
	for {
		m := string(second.do("GET", "/metrics", "", nil).body)
		if strings.Contains(m, `ftpdiag_jobs_total{status="done"} 2`) && strings.Contains(m, "ftpdiag_queue_depth 0") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics after the restart:\n%s", grepLines(m, "ftpdiag_jobs_total", "ftpdiag_queue_depth"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := second.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := second.cmd.Wait(); err != nil {
		t.Errorf("serve after SIGTERM: %v; stderr:\n%s", err, second.stderr.String())
	}
	// A third start finds both records final and analyses nothing again.
	third := startChild(t, bin, common...)
	var l api.List
	decode(t, third.do("GET", "/api/v1/captures", "", nil).body, &l)
	if len(l.Captures) != 2 || l.Captures[0].Status != store.Done || l.Captures[1].Status != store.Done {
		t.Errorf("after a clean restart: %+v", l.Captures)
	}
	time.Sleep(3 * time.Second) // longer than --ack-wait: a pending job would show
	if m := string(third.do("GET", "/metrics", "", nil).body); strings.Contains(m, "ftpdiag_jobs_total{") {
		t.Errorf("a job ran again after a clean restart:\n%s", grepLines(m, "ftpdiag_jobs_total"))
	}
}

func grepLines(s string, prefixes ...string) string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		for _, p := range prefixes {
			if strings.HasPrefix(line, p) {
				out = append(out, line)
			}
		}
	}
	return strings.Join(out, "\n")
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
