package service_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"ftpdiag/analyze"
	"ftpdiag/ftpflow"
	"ftpdiag/report"
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

// cliJSON is what `ftpdiag --format json NAMES...` prints when run in the
// fixtures directory: the CLI's streamed JSON path, with its defaults.
func cliJSON(t *testing.T, names ...string) []byte {
	t.Helper()
	var in []analyze.Input
	for _, n := range names {
		f, err := os.Open(filepath.Join(fixtures, n))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		in = append(in, analyze.Input{Name: n, Reader: f})
	}
	js := report.NewJSONStream(false, 0)
	defer js.Close()
	opt := analyze.Options{
		TimeWait: ftpflow.DefaultTimeWait,
		Tracker:  ftpflow.Config{MaxConns: ftpflow.DefaultMaxConns, MaxSessions: ftpflow.DefaultMaxSessions, TimeWait: ftpflow.DefaultTimeWait},
		Sessions: js.Session,
	}
	a, _ := analyze.Run(context.Background(), in, opt)
	var out bytes.Buffer
	if err := js.Finish(&out, a); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
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
