package service_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"ftpdiag/service/api"
	"ftpdiag/service/store"
)

// buildBinary returns the ftpdiag binary, built once for every test of
// the package (ftpdiagBinary).
func buildBinary(t *testing.T) string {
	t.Helper()
	return ftpdiagBinary(t)
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

// natsProxy relays NATS client connections on a loopback port to a NATS
// server, reading the client's side of the protocol (PUB and HPUB with
// their payloads, other operations one line each) so that it can freeze:
// once trigger asks, it forwards nothing more from any client, while the
// server's side still flows. A process behind a frozen proxy is held at
// the exact point of its conversation with JetStream that trigger names.
type natsProxy struct {
	t       *testing.T
	ln      net.Listener
	target  string
	trigger func(op, subject string) (before, after bool)
	// frozen is closed when the proxy freezes; stop when it closes.
	frozen, stop   chan struct{}
	freezeOnce     sync.Once
	stopOnce       sync.Once
	mu             sync.Mutex
	conns          []net.Conn
	what           atomic.Value // the operation that froze it
	wg             sync.WaitGroup
	forwardedBytes atomic.Int64
}

// startNATSProxy listens on 127.0.0.1 and relays to target (host:port);
// trigger sees every PUB and HPUB a client sends, before it is forwarded.
// The test's cleanup closes the proxy and its connections.
func startNATSProxy(t *testing.T, target string, trigger func(op, subject string) (before, after bool)) *natsProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &natsProxy{t: t, ln: ln, target: target, trigger: trigger, frozen: make(chan struct{}), stop: make(chan struct{})}
	p.wg.Go(p.accept)
	t.Cleanup(p.close)
	return p
}

// URL is the proxy's address for --nats.
func (p *natsProxy) URL() string { return "nats://" + p.ln.Addr().String() }

func (p *natsProxy) close() {
	p.stopOnce.Do(func() {
		close(p.stop)
		p.ln.Close()
		p.mu.Lock()
		for _, c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
}

func (p *natsProxy) accept() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		server, err := net.DialTimeout("tcp", p.target, 5*time.Second)
		if err != nil {
			client.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, client, server)
		p.mu.Unlock()
		p.wg.Go(func() { io.Copy(client, server); client.Close() })
		p.wg.Go(func() { p.relay(client, server); server.Close() })
	}
}

// freeze stops every relay from the clients, naming what froze it.
func (p *natsProxy) freeze(what string) {
	p.freezeOnce.Do(func() {
		p.what.Store(what)
		close(p.frozen)
	})
}

// relay forwards the client's operations to the server until the proxy
// freezes (it then holds them until it closes) or a side hangs up.
func (p *natsProxy) relay(client, server net.Conn) {
	br := bufio.NewReaderSize(client, 64<<10)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		op := line
		fields := strings.Fields(line)
		verb := ""
		if len(fields) > 0 {
			verb = strings.ToUpper(fields[0])
		}
		if (verb == "PUB" || verb == "HPUB") && len(fields) >= 3 {
			n, err := strconv.Atoi(fields[len(fields)-1]) // PUB: size; HPUB: total size
			if err != nil {
				return
			}
			payload := make([]byte, n+2) // and its CRLF
			if _, err := io.ReadFull(br, payload); err != nil {
				return
			}
			op += string(payload)
		}
		select {
		case <-p.frozen:
			<-p.stop
			return
		default:
		}
		before, after := false, false
		if verb == "PUB" || verb == "HPUB" {
			before, after = p.trigger(verb, fields[1])
		}
		if before {
			p.freeze("before " + verb + " " + fields[1])
			<-p.stop
			return
		}
		if _, err := io.WriteString(server, op); err != nil {
			return
		}
		p.forwardedBytes.Add(int64(len(op)))
		if after {
			p.freeze("after " + verb + " " + fields[1])
		}
	}
}

// reportMeta returns the name of the report object whose meta message a
// subject publishes ("$O.ftpdiag-reports.M.<base64 name>"), or "".
func reportMeta(subject string) string {
	enc, ok := strings.CutPrefix(subject, "$O."+store.ReportsBucket+".M.")
	if !ok {
		return ""
	}
	name, err := base64.URLEncoding.DecodeString(enc)
	if err != nil {
		return ""
	}
	return string(name)
}

// TestSIGKILLAfterAnalysis kills `ftpdiag serve` with SIGKILL after the
// analysis of a job, at three points of the storing of its outcome, and
// restarts it: the job must finish once, with the CLI's report. The child
// runs on a NATS server of the test's through natsProxy, which holds it
// at the chosen point (no debug hook needed):
//   - before its first report chunk reaches JetStream: analysed again;
//   - once the JSON report is stored, the others being written: analysed
//     again, the JSON report kept as it is;
//   - once the outcome is stored but the record not yet final: finished
//     from the stored outcome without analysing again.
func TestSIGKILLAfterAnalysis(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	const fixture = "03-pasv-dropped-curl-client.pcap"
	reportsPrefix := "$O." + store.ReportsBucket + ".C."
	for _, tc := range []struct {
		name    string
		trigger func(op, subject string) (before, after bool)
		// attempts is the record's count of analyses started; analysed
		// whether the restarted process analysed the capture.
		attempts int
		analysed bool
	}{
		{"before the reports", func(_, subject string) (bool, bool) {
			return strings.HasPrefix(subject, reportsPrefix), false
		}, 2, true},
		{"JSON report stored", func(_, subject string) (bool, bool) {
			return false, strings.HasSuffix(reportMeta(subject), "/report."+string(store.ReportJSON))
		}, 2, true},
		{"outcome stored", func(_, subject string) (bool, bool) {
			return false, strings.HasSuffix(reportMeta(subject), "/report.outcome.json")
		}, 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			emb, err := store.StartEmbedded(store.EmbeddedConfig{Dir: t.TempDir(), Listen: "127.0.0.1:0"})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(emb.Shutdown)
			natsURL := emb.ClientURL()
			proxy := startNATSProxy(t, strings.TrimPrefix(natsURL, "nats://"), tc.trigger)
			common := []string{"--replicas", "1", "--workers", "1", "--ack-wait", "2s"}

			first := startChild(t, bin, append(common, "--data", t.TempDir(), "--nats", proxy.URL())...)
			acc := first.uploadFile("", fixture)
			select {
			case <-proxy.frozen:
			case <-time.After(60 * time.Second):
				t.Fatalf("the job did not reach the kill point in 60 s; stderr:\n%s", first.stderr.String())
			}
			first.kill()
			t.Logf("killed %s", proxy.what.Load())

			// What the killed process left: the record still running.
			nc, err := nats.Connect(natsURL, nats.Timeout(5*time.Second))
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			st, err := store.Open(ctx, nc, store.Config{Replicas: 1, AckWait: 2 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			rec, _, err := st.Record(ctx, api.OpenTenant, acc.ID)
			if err != nil || rec.Status != store.Running || rec.Attempts != 1 {
				t.Fatalf("the record after the kill: %+v, %v; want running after 1 attempt", rec, err)
			}

			second := startChild(t, bin, append(common, "--data", t.TempDir(), "--nats", natsURL)...)
			c := second.wait("", acc.ID)
			if c.Status != store.Done || c.Attempts != tc.attempts {
				t.Errorf("after the restart: %s after %d attempts, want done after %d", c.Status, c.Attempts, tc.attempts)
			}
			if r := second.do("GET", acc.ReportURL, "", nil); !bytes.Equal(r.body, cliJSON(t, fixture)) {
				t.Errorf("the report after the restart differs from the CLI's: %v", r)
			}
			analyses := "ftpdiag_analysis_duration_seconds_count 0"
			if tc.analysed {
				analyses = "ftpdiag_analysis_duration_seconds_count 1"
			}
			var m string
			if ok, _ := eventually(10*time.Second, func() (bool, string) {
				m = string(second.do("GET", "/metrics", "", nil).body)
				return strings.Contains(m, "ftpdiag_queue_depth 0"), ""
			}); !ok || !strings.Contains(m, analyses) {
				t.Errorf("metrics after the restart, want %q and an empty queue:\n%s", analyses,
					grepLines(m, "ftpdiag_analysis_duration_seconds_count", "ftpdiag_queue_depth", "ftpdiag_jobs_total"))
			}

			// Once: every report stored once, the capture gone, nothing in
			// flight. Chunks of a report cut by the kill are left to the
			// retention; they are counted for the log.
			if ok, last := eventually(10*time.Second, func() (bool, string) {
				objects, _, err := st.CountObjects(ctx, store.CapturesBucket)
				inFlight, err2 := st.InFlight(ctx)
				return err == nil && err2 == nil && objects == 0 && inFlight == 0, fmt.Sprintf("%d captures, %d in flight (%v, %v)", objects, inFlight, err, err2)
			}); !ok {
				t.Errorf("after the restart: %s", last)
			}
			objects, chunks, err := st.CountObjects(ctx, store.ReportsBucket)
			if err != nil {
				t.Fatal(err)
			}
			if want := len(store.ReportKinds()) + 1; objects != want { // and the outcome
				t.Errorf("%d report objects, want %d", objects, want)
			}
			t.Logf("reports bucket: %d objects, %d chunk messages", objects, chunks)
			if err := second.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			if err := second.cmd.Wait(); err != nil {
				t.Errorf("serve after SIGTERM: %v; stderr:\n%s", err, second.stderr.String())
			}
		})
	}
}
