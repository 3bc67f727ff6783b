package service_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"ftpdiag/service"
	"ftpdiag/service/api"
	"ftpdiag/service/store"
	"ftpdiag/service/worker"
)

// The tokens of the test tenants.
const (
	acmeToken   = "acme-token-0123456789"
	globexToken = "globex-token-0123456789"
)

// fixtures is where the shipped captures are.
const fixtures = "../fixtures/captures"

// testService is a service running for one test on a loopback port.
type testService struct {
	*service.Service
	t      *testing.T
	base   string
	client *http.Client
}

// startService starts a service with tokens for acme and globex, two
// workers, data in a temporary directory; edit changes the config first.
func startService(t *testing.T, edit func(*service.Config)) *testService {
	t.Helper()
	tokens, err := api.ParseTokens(strings.NewReader("# test tenants\nacme " + acmeToken + "\nglobex " + globexToken + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := service.Config{
		Listen: "127.0.0.1:0", Dir: t.TempDir(), Tokens: tokens,
		Worker: worker.Config{Workers: 2, Logf: t.Logf},
		API:    api.Config{Logf: t.Logf},
	}
	if edit != nil {
		edit(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := service.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return &testService{Service: s, t: t, base: strings.TrimSuffix(s.URL(), "/"), client: &http.Client{Timeout: 30 * time.Second}}
}

// response is an answer read whole.
type response struct {
	code   int
	header http.Header
	body   []byte
}

func (r response) String() string { return fmt.Sprintf("%d %s", r.code, bytes.TrimSpace(r.body)) }

// do sends a request with the token (none if empty) and reads the answer.
func (ts *testService) do(method, path, token string, body io.Reader, header ...string) response {
	ts.t.Helper()
	req, err := http.NewRequest(method, ts.base+path, body)
	if err != nil {
		ts.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := ts.client.Do(req)
	if err != nil {
		ts.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		ts.t.Fatalf("%s %s: reading the answer: %v", method, path, err)
	}
	return response{code: resp.StatusCode, header: resp.Header, body: b}
}

// uploadFile uploads one fixture as the raw body, named as the CLI names
// it, and returns the answer's ids.
func (ts *testService) uploadFile(token, name string, query ...string) api.Accepted {
	ts.t.Helper()
	f, err := os.Open(filepath.Join(fixtures, name))
	if err != nil {
		ts.t.Fatal(err)
	}
	defer f.Close()
	path := "/api/v1/captures?name=" + name
	if len(query) > 0 {
		path += "&" + strings.Join(query, "&")
	}
	r := ts.do("POST", path, token, f, "Content-Type", "application/vnd.tcpdump.pcap")
	if r.code != http.StatusAccepted {
		ts.t.Fatalf("upload %s: %v", name, r)
	}
	var acc api.Accepted
	decode(ts.t, r.body, &acc)
	return acc
}

func decode(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decoding %q: %v", b, err)
	}
}

// wait polls a capture until its status is final (at most 60 s).
func (ts *testService) wait(token, id string) api.Capture {
	ts.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		r := ts.do("GET", "/api/v1/captures/"+id, token, nil)
		if r.code != http.StatusOK {
			ts.t.Fatalf("GET capture %s: %v", id, r)
		}
		var c api.Capture
		decode(ts.t, r.body, &c)
		if c.Status.Final() {
			return c
		}
		if time.Now().After(deadline) {
			ts.t.Fatalf("capture %s still %s after 60 s", id, c.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// leftovers counts what is stored of captures: live objects and chunks.
func (ts *testService) leftovers() (objects int, chunks uint64) {
	ts.t.Helper()
	objects, chunks, err := ts.Store().CountObjects(context.Background(), store.CapturesBucket)
	if err != nil {
		ts.t.Fatal(err)
	}
	return objects, chunks
}

// records counts a tenant's records.
func (ts *testService) records(tenant string) int {
	ts.t.Helper()
	n := 0
	if err := ts.Store().Records(context.Background(), tenant, func(*store.Record) bool { n++; return true }); err != nil {
		ts.t.Fatal(err)
	}
	return n
}

// TestMain runs the tests, then removes the ftpdiag binary they built.
func TestMain(m *testing.M) {
	code := m.Run()
	if cli.dir != "" {
		os.RemoveAll(cli.dir)
	}
	os.Exit(code)
}

// cli is the ftpdiag binary the tests build once and share (the child
// services of the fault tests, and the reports to compare with), and the
// reports it printed, by command line.
var cli struct {
	once sync.Once
	dir  string
	bin  string
	err  error

	mu      sync.Mutex
	reports map[string][]byte
}

// buildTimeout bounds the build of the binary.
const buildTimeout = 5 * time.Minute

// ftpdiagBinary builds ftpdiag the first time it is called (into a
// directory TestMain removes) and returns its path.
func ftpdiagBinary(t *testing.T) string {
	t.Helper()
	cli.once.Do(func() {
		if cli.dir, cli.err = os.MkdirTemp("", "ftpdiag-service-test-"); cli.err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
		defer cancel()
		cli.bin = filepath.Join(cli.dir, "ftpdiag")
		out, err := exec.CommandContext(ctx, "go", "build", "-o", cli.bin, "ftpdiag/cmd/ftpdiag").CombinedOutput()
		if err != nil {
			cli.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if cli.err != nil {
		t.Fatal(cli.err)
	}
	return cli.bin
}

// cliTimeout bounds one run of the CLI on fixtures.
const cliTimeout = 2 * time.Minute

// cliReport is what `ftpdiag --format FORMAT [flags] NAMES...` prints
// when run in the fixtures directory, so that the report names each input
// as the upload did. The real binary runs, with COLUMNS unset so that a
// text report has the width the CLI gives a pipe; exit statuses 0, 1 and
// 2 (findings, nothing readable) are answers, the others failures.
func cliReport(t *testing.T, format string, flags []string, names ...string) []byte {
	t.Helper()
	bin := ftpdiagBinary(t)
	out, err := runCLI(bin, format, flags, names...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// runCLI runs the CLI for cliReport, once per command line: later calls
// answer what the first printed.
func runCLI(bin, format string, flags []string, names ...string) ([]byte, error) {
	args := append(append([]string{"--format", format}, flags...), names...)
	key := strings.Join(args, "\x00")
	cli.mu.Lock()
	out, ok := cli.reports[key]
	cli.mu.Unlock()
	if ok {
		return out, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = fixtures
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "COLUMNS=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var exit *exec.ExitError
	if err != nil && (!errors.As(err, &exit) || exit.ExitCode() > 2) {
		return nil, fmt.Errorf("ftpdiag %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("ftpdiag %s printed nothing\n%s", strings.Join(args, " "), stderr.Bytes())
	}
	cli.mu.Lock()
	if cli.reports == nil {
		cli.reports = map[string][]byte{}
	}
	cli.reports[key] = out
	cli.mu.Unlock()
	return out, nil
}

// cliJSON is what `ftpdiag --format json NAMES...` prints when run in the
// fixtures directory (the real CLI's output).
func cliJSON(t *testing.T, names ...string) []byte {
	t.Helper()
	return cliReport(t, "json", nil, names...)
}

// fixtureNames lists the shipped captures.
func fixtureNames(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(fixtures)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && (strings.HasSuffix(e.Name(), ".pcap") || strings.HasSuffix(e.Name(), ".pcapng") || strings.HasSuffix(e.Name(), ".gz")) {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	if len(names) == 0 {
		t.Fatal("no fixture captures")
	}
	return names
}
