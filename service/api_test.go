package service_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ftpdiag/pcap"
	"ftpdiag/service"
	"ftpdiag/service/api"
	"ftpdiag/service/store"
)

// TestReportsMatchCLI uploads every shipped capture and checks that each
// report is byte for byte the CLI's --format json on the same file.
func TestReportsMatchCLI(t *testing.T) {
	ts := startService(t, nil)
	names := fixtureNames(t)
	ids := map[string]string{}
	for _, n := range names {
		ids[n] = ts.uploadFile(acmeToken, n).ID
	}
	for _, n := range names {
		c := ts.wait(acmeToken, ids[n])
		if c.Status != store.Done {
			t.Errorf("%s: status %s, error %v", n, c.Status, c.Error)
			continue
		}
		r := ts.do("GET", "/api/v1/captures/"+ids[n]+"/report", acmeToken, nil)
		if r.code != http.StatusOK {
			t.Errorf("%s: report: %v", n, r)
			continue
		}
		if want := cliJSON(t, n); !bytes.Equal(r.body, want) {
			t.Errorf("%s: the service's report differs from the CLI's (%d bytes against %d)", n, len(r.body), len(want))
		}
		if got := r.header.Get("Content-Type"); got != "application/json" {
			t.Errorf("%s: report Content-Type %q", n, got)
		}
	}
	if objects, chunks := ts.leftovers(); objects != 0 || chunks != 0 {
		t.Errorf("captures left after analysis without --keep-captures: %d objects, %d chunks", objects, chunks)
	}
}

// multipartBody builds a multipart upload of fixtures with extra fields.
func multipartBody(t *testing.T, names []string, fields ...string) (io.Reader, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for i := 0; i+1 < len(fields); i += 2 {
		mw.WriteField(fields[i], fields[i+1])
	}
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(fixtures, n))
		if err != nil {
			t.Fatal(err)
		}
		w, err := mw.CreateFormFile("file", n)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(b)
	}
	mw.Close()
	return &buf, mw.FormDataContentType()
}

func TestMultipartMergedAndEach(t *testing.T) {
	ts := startService(t, nil)
	names := []string{"02-nat-pasv-curl-follow-client.pcap", "02-nat-pasv-curl-follow-server.pcap"}

	body, ctype := multipartBody(t, names, "name", "nat case", "tags", "nat,ticket-42")
	r := ts.do("POST", "/api/v1/captures", acmeToken, body, "Content-Type", ctype)
	if r.code != http.StatusAccepted {
		t.Fatalf("merged upload: %v", r)
	}
	var acc api.Accepted
	decode(t, r.body, &acc)
	if len(acc.Captures) != 0 || acc.StatusURL != "/api/v1/captures/"+acc.ID || r.header.Get("Location") != acc.StatusURL {
		t.Errorf("merged upload answer: %+v, Location %q", acc, r.header.Get("Location"))
	}
	c := ts.wait(acmeToken, acc.ID)
	if c.Name != "nat case" || strings.Join(c.Tags, ",") != "nat,ticket-42" || len(c.Files) != 2 || c.Status != store.Done {
		t.Errorf("merged capture: %+v", c)
	}
	rep := ts.do("GET", acc.ReportURL, acmeToken, nil)
	if want := cliJSON(t, names...); !bytes.Equal(rep.body, want) {
		t.Errorf("merged report differs from `ftpdiag --format json %s`", strings.Join(names, " "))
	}

	body, ctype = multipartBody(t, names, "each", "true")
	r = ts.do("POST", "/api/v1/captures", acmeToken, body, "Content-Type", ctype)
	decode(t, r.body, &acc)
	if r.code != http.StatusAccepted || len(acc.Captures) != 2 || acc.Captures[0].ID != acc.ID {
		t.Fatalf("each=true upload: %v", r)
	}
	for i, one := range acc.Captures {
		c := ts.wait(acmeToken, one.ID)
		rep := ts.do("GET", one.ReportURL, acmeToken, nil)
		if c.Files[0].Name != names[i] || !bytes.Equal(rep.body, cliJSON(t, names[i])) {
			t.Errorf("each=true capture %d (%s): files %+v, report differs from the CLI's", i, names[i], c.Files)
		}
	}
}

func TestRecordListAndDelete(t *testing.T) {
	ts := startService(t, nil)
	bad := ts.uploadFile(acmeToken, "03-pasv-dropped-curl-client.pcap", "tags=firewall")
	good := ts.uploadFile(acmeToken, "01-passive-vsftpd-curl-client.pcap", "tags=healthy,firewall")
	third := ts.uploadFile(acmeToken, "01-active-proftpd-curl-client.pcap")
	for _, id := range []string{bad.ID, good.ID, third.ID} {
		ts.wait(acmeToken, id)
	}
	c := ts.wait(acmeToken, bad.ID)
	if c.Summary == nil || c.Summary.WorstSeverity != "error" || c.Verdict != "error" || c.Summary.Sessions != 1 ||
		len(c.Summary.TopFindings) == 0 || c.Summary.FindingsByKind["data_syn_unanswered"] != 1 ||
		c.Progress.BytesRead != c.Size || c.Progress.BytesTotal != c.Size || c.Started == nil || c.Finished == nil || c.Attempts != 1 {
		t.Errorf("record of a failing capture: %+v, summary %+v", c, c.Summary)
	}

	list := func(query string) (ids []string, next string) {
		t.Helper()
		r := ts.do("GET", "/api/v1/captures?"+query, acmeToken, nil)
		if r.code != http.StatusOK {
			t.Fatalf("list ?%s: %v", query, r)
		}
		var l api.List
		decode(t, r.body, &l)
		for _, c := range l.Captures {
			ids = append(ids, c.ID)
		}
		if l.NextCursor != nil {
			next = *l.NextCursor
		}
		return ids, next
	}
	all, _ := list("")
	if strings.Join(all, ",") != strings.Join([]string{third.ID, good.ID, bad.ID}, ",") {
		t.Errorf("list: %v, want newest first", all)
	}
	var paged []string
	cursor := ""
	for range 5 {
		ids, next := list("limit=1&cursor=" + cursor)
		paged = append(paged, ids...)
		if cursor = next; cursor == "" {
			break
		}
	}
	if strings.Join(paged, ",") != strings.Join(all, ",") {
		t.Errorf("pages of one: %v, want %v", paged, all)
	}
	for query, want := range map[string][]string{
		"tag=firewall":                {good.ID, bad.ID},
		"severity=error":              {bad.ID},
		"severity=ok":                 excluding(all, bad.ID),
		"status=done&tag=healthy":     {good.ID},
		"status=queued":               nil,
		"tag=firewall&severity=error": {bad.ID},
	} {
		if got, _ := list(query); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("list ?%s: %v, want %v", query, got, want)
		}
	}
	for _, query := range []string{"status=bogus", "severity=fatal", "limit=0", "limit=1000", "cursor=!!!"} {
		if r := ts.do("GET", "/api/v1/captures?"+query, acmeToken, nil); r.code != http.StatusBadRequest {
			t.Errorf("list ?%s: %v, want 400", query, r)
		}
	}

	if r := ts.do("DELETE", "/api/v1/captures/"+bad.ID, acmeToken, nil); r.code != http.StatusNoContent {
		t.Fatalf("DELETE: %v", r)
	}
	for _, path := range []string{bad.StatusURL, bad.ReportURL, "/captures/" + bad.ID} {
		if r := ts.do("GET", path, acmeToken, nil); r.code != http.StatusNotFound {
			t.Errorf("GET %s after DELETE: %v, want 404", path, r)
		}
	}
	if r := ts.do("DELETE", "/api/v1/captures/"+bad.ID, acmeToken, nil); r.code != http.StatusNotFound {
		t.Errorf("second DELETE: %v, want 404", r)
	}
	for _, kind := range store.ReportKinds() {
		if _, _, err := ts.Store().OpenReport(context.Background(), "acme", bad.ID, kind); err == nil {
			t.Errorf("report %s still stored after DELETE", kind)
		}
	}
	if n := ts.records("acme"); n != 2 {
		t.Errorf("%d records after deleting one of 3", n)
	}
}

func excluding(ids []string, drop string) []string {
	var out []string
	for _, id := range ids {
		if id != drop {
			out = append(out, id)
		}
	}
	return out
}

func TestReportFormatsAndShareLinks(t *testing.T) {
	ts := startService(t, nil)
	acc := ts.uploadFile(acmeToken, "02-nat-pasv-curl-follow-client.pcap")
	// A long poll answers once the analysis is final.
	if r := ts.do("GET", acc.StatusURL+"?wait=20s", acmeToken, nil); r.code != http.StatusOK || !strings.Contains(string(r.body), `"status": "done"`) {
		t.Errorf("GET ?wait=20s: %v", r)
	}
	for q, want := range map[string]int{"?wait=1h": 400, "?wait=soon": 400} {
		if r := ts.do("GET", acc.StatusURL+q, acmeToken, nil); r.code != want {
			t.Errorf("GET %s: %v, want %d", q, r, want)
		}
	}
	if r := ts.do("GET", acc.StatusURL+"?wait=5s", globexToken, nil); r.code != http.StatusNotFound {
		t.Errorf("another tenant's GET ?wait: %v, want 404", r)
	}
	text := ts.do("GET", acc.ReportURL+"?format=text", acmeToken, nil)
	explain := ts.do("GET", acc.ReportURL+"?format=text&explain=true", acmeToken, nil)
	if text.code != 200 || !strings.Contains(string(text.body), "pasv_address_mismatch") ||
		explain.code != 200 || len(explain.body) <= len(text.body) || !strings.Contains(string(explain.body), "frame") {
		t.Errorf("text reports: %d (%d bytes), explained %d (%d bytes)", text.code, len(text.body), explain.code, len(explain.body))
	}
	if r := ts.do("GET", acc.ReportURL+"?format=pdf", acmeToken, nil); r.code != http.StatusBadRequest {
		t.Errorf("format=pdf: %v", r)
	}

	if !strings.Contains(acc.HTMLURL, "?key=acme.") || !strings.Contains(acc.JSONURL, "?key=acme.") {
		t.Fatalf("share links without a key: %q, %q", acc.HTMLURL, acc.JSONURL)
	}
	page := ts.do("GET", acc.HTMLURL, "", nil) // a browser: no token
	if page.code != http.StatusOK || !strings.Contains(string(page.body), `<a href="/"`) ||
		!strings.Contains(string(page.body), "pasv_address_mismatch") ||
		!strings.Contains(page.header.Get("Content-Security-Policy"), "default-src 'none'") ||
		page.header.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("HTML report by share link: %d, CSP %q", page.code, page.header.Get("Content-Security-Policy"))
	}
	if r := ts.do("GET", acc.JSONURL, "", nil); r.code != http.StatusOK || !bytes.Equal(r.body, cliJSON(t, "02-nat-pasv-curl-follow-client.pcap")) {
		t.Errorf("JSON report by share link: %d", r.code)
	}
	for _, path := range []string{
		"/captures/" + acc.ID,                                               // no key, no token
		"/captures/" + acc.ID + "?key=acme.AAAA",                            // forged
		"/captures/" + acc.ID + "?key=globex.zzz",                           // another tenant's
		acc.StatusURL + "?key=" + strings.SplitN(acc.HTMLURL, "key=", 2)[1], // keys open reports only
	} {
		if r := ts.do("GET", path, "", nil); r.code != http.StatusUnauthorized {
			t.Errorf("GET %s: %v, want 401", path, r)
		}
	}
}

func TestTenantIsolation(t *testing.T) {
	ts := startService(t, nil)
	acc := ts.uploadFile(acmeToken, "02-nat-pasv-curl-follow-client.pcap")
	ts.wait(acmeToken, acc.ID)
	unknown := store.NewID()
	for _, path := range []string{acc.StatusURL, acc.ReportURL, "/captures/" + acc.ID, acc.StatusURL + "/sessions/1/extract",
		"/api/v1/captures/" + unknown, "/api/v1/captures/not-an-id"} {
		if r := ts.do("GET", path, globexToken, nil); r.code != http.StatusNotFound {
			t.Errorf("globex GET %s: %v, want 404", path, r)
		}
	}
	if r := ts.do("DELETE", acc.StatusURL, globexToken, nil); r.code != http.StatusNotFound {
		t.Errorf("globex DELETE: %v, want 404", r)
	}
	r := ts.do("GET", "/api/v1/captures", globexToken, nil)
	var l api.List
	decode(t, r.body, &l)
	if len(l.Captures) != 0 {
		t.Errorf("globex lists %d captures of acme", len(l.Captures))
	}
	for _, tok := range []string{"", "wrong-token-0123456789"} {
		for _, route := range []struct{ method, path string }{{"GET", "/api/v1/captures"}, {"GET", acc.StatusURL}, {"POST", "/api/v1/captures"}, {"DELETE", acc.StatusURL}} {
			r := ts.do(route.method, route.path, tok, strings.NewReader("x"))
			if r.code != http.StatusUnauthorized || !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%s %s with token %q: %v, want 401", route.method, route.path, tok, r)
			}
		}
	}
	if r := ts.do("GET", acc.StatusURL, acmeToken, nil); r.code != http.StatusOK {
		t.Errorf("acme after all that: %v", r)
	}
}

func TestUploadRefusals(t *testing.T) {
	ts := startService(t, func(c *service.Config) { c.API.MaxUpload = 256 << 10 })

	r := ts.do("POST", "/api/v1/captures", acmeToken, strings.NewReader("# not a capture\n"))
	if r.code != http.StatusUnsupportedMediaType || !strings.Contains(string(r.body), `capture: not a capture file (starts with \"# not a capture\\n\")`) {
		t.Errorf("text upload: %v", r)
	}
	gz := gzipped(t, []byte("hello, world"))
	r = ts.do("POST", "/api/v1/captures?name=x.gz", acmeToken, gz)
	if r.code != http.StatusUnsupportedMediaType || !strings.Contains(string(r.body), "x.gz: not a capture file (decompressed data starts with") {
		t.Errorf("gzip of text: %v", r)
	}
	body, ctype := multipartBody(t, []string{"02-nat-pasv-curl-follow-client.pcap", "../README.md"})
	r = ts.do("POST", "/api/v1/captures", acmeToken, body, "Content-Type", ctype)
	if r.code != http.StatusUnsupportedMediaType || !strings.Contains(string(r.body), "README.md: not a capture file") {
		t.Errorf("multipart with a text file: %v", r)
	}
	body, ctype = multipartBody(t, nil, "name", "nothing")
	if r = ts.do("POST", "/api/v1/captures", acmeToken, body, "Content-Type", ctype); r.code != http.StatusBadRequest {
		t.Errorf("multipart without a file: %v", r)
	}
	for _, q := range []string{"tags=bad%20tag!", "each=maybe", "name=" + strings.Repeat("n", 600)} {
		if r = ts.do("POST", "/api/v1/captures?"+q, acmeToken, strings.NewReader("x")); r.code != http.StatusBadRequest {
			t.Errorf("upload ?%s: %v, want 400", q[:min(len(q), 20)], r)
		}
	}

	// Over --max-upload without a declared length: 413 once exceeded.
	big := bigCapture(t, 1<<20)
	r = ts.do("POST", "/api/v1/captures", acmeToken, io.MultiReader(bytes.NewReader(big))) // chunked: no length
	if r.code != http.StatusRequestEntityTooLarge {
		t.Errorf("chunked upload over --max-upload: %v", r)
	}
	// With a declared length: 413 before the body is read (none is sent).
	conn := dial(t, ts)
	fmt.Fprintf(conn, "POST /api/v1/captures HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n", acmeToken, 10<<30)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil || resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("declared 10 GiB: %v, %v; want 413 without sending the body", resp, err)
	}
	conn.Close()

	if objects, chunks := ts.leftovers(); objects != 0 || chunks != 0 || ts.records("acme") != 0 {
		t.Errorf("refused uploads left %d objects, %d chunks, %d records", objects, chunks, ts.records("acme"))
	}
	m := ts.do("GET", "/metrics", "", nil)
	for _, want := range []string{`ftpdiag_uploads_total{result="unsupported_media_type"} 3`, `ftpdiag_uploads_total{result="too_large"} 2`} {
		if !strings.Contains(string(m.body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// bigCapture returns a pcap of at least size bytes: one FTP fixture's
// packets repeated.
func bigCapture(t *testing.T, size int) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, "01-passive-vsftpd-curl-client.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	out := bytes.Clone(b)
	for len(out) < size {
		out = append(out, b[24:]...)
	}
	return out
}

func dial(t *testing.T, ts *testService) net.Conn {
	t.Helper()
	u, _ := url.Parse(ts.base)
	conn, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	return conn
}

// TestClientGoneMidUpload cuts uploads short, by closing the connection
// and by stalling, and checks that nothing is left behind.
func TestClientGoneMidUpload(t *testing.T) {
	ts := startService(t, func(c *service.Config) { c.API.BodyIdleTimeout = 300 * time.Millisecond })
	big := bigCapture(t, 4<<20)
	for _, stall := range []bool{false, true} {
		conn := dial(t, ts)
		fmt.Fprintf(conn, "POST /api/v1/captures HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n", acmeToken, len(big))
		conn.Write(big[:len(big)/2])
		if stall {
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil || resp.StatusCode != http.StatusRequestTimeout {
				t.Errorf("stalled upload: %v, %v; want 408", resp, err)
			}
		}
		conn.Close()
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		objects, chunks := ts.leftovers()
		if objects == 0 && chunks == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("cut uploads left %d objects, %d chunks", objects, chunks)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := ts.records("acme"); n != 0 {
		t.Errorf("cut uploads left %d records", n)
	}
	if depth, _ := ts.Store().QueueDepth(context.Background()); depth != 0 {
		t.Errorf("cut uploads left %d jobs", depth)
	}
}

func TestUploadsPerTenant(t *testing.T) {
	ts := startService(t, func(c *service.Config) { c.API.UploadsPerTenant = 1 })
	head := bigCapture(t, 1<<10)
	// open starts an upload that sends its first KiB of 1 MiB and waits.
	open := func() net.Conn {
		conn := dial(t, ts)
		fmt.Fprintf(conn, "POST /api/v1/captures HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n", acmeToken, 1<<20)
		conn.Write(head)
		return conn
	}
	conn := open()
	defer func() { conn.Close() }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := ts.do("POST", "/api/v1/captures", acmeToken, bytes.NewReader(head))
		if r.code == http.StatusTooManyRequests {
			if r.header.Get("Retry-After") == "" {
				t.Error("429 without Retry-After")
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a second upload while one is open: %v, want 429", r)
		}
		// The open upload had not begun yet; or, on a busy machine, this
		// one took the slot first and the open one was refused: start
		// it again.
		if answered(conn) {
			conn.Close()
			conn = open()
		}
		time.Sleep(20 * time.Millisecond)
	}
	if r := ts.do("POST", "/api/v1/captures?name=x.pcap", globexToken, bytes.NewReader(head)); r.code != http.StatusAccepted {
		t.Errorf("another tenant's upload meanwhile: %v", r)
	}
}

// answered reports whether the server has written to conn, reading
// (and losing) at most one byte.
func answered(conn net.Conn) bool {
	conn.SetReadDeadline(time.Now().Add(time.Millisecond))
	defer conn.SetReadDeadline(time.Time{})
	n, _ := conn.Read(make([]byte, 1))
	return n > 0
}

func TestStorageFull(t *testing.T) {
	ts := startService(t, func(c *service.Config) { c.MaxStore = 6 << 20 })
	big := bigCapture(t, 8<<20)
	r := ts.do("POST", "/api/v1/captures", acmeToken, io.MultiReader(bytes.NewReader(big))) // no length: found while storing
	if r.code != http.StatusInsufficientStorage || !strings.Contains(string(r.body), "storage is full") {
		t.Errorf("upload beyond the store: %v, want 507", r)
	}
	r = ts.do("POST", "/api/v1/captures", acmeToken, bytes.NewReader(big)) // declared: refused up front
	if r.code != http.StatusInsufficientStorage {
		t.Errorf("declared upload beyond the store: %v, want 507", r)
	}
	if objects, chunks := ts.leftovers(); objects != 0 || chunks != 0 || ts.records("acme") != 0 {
		t.Errorf("refused uploads left %d objects, %d chunks, %d records", objects, chunks, ts.records("acme"))
	}
	acc := ts.uploadFile(acmeToken, "02-nat-pasv-curl-follow-client.pcap")
	if c := ts.wait(acmeToken, acc.ID); c.Status != store.Done {
		t.Errorf("a small capture after the refusals: %s", c.Status)
	}
}

// gzipped compresses parts, one after the other, as one gzip stream.
func gzipped(t *testing.T, parts ...[]byte) *bytes.Buffer {
	t.Helper()
	var gz bytes.Buffer
	zw, err := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range parts {
		if _, err := zw.Write(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return &gz
}

// pcapHeader is a classic pcap file header (Ethernet, snaplen 65535).
func pcapHeader() []byte {
	h := make([]byte, 24)
	binary.LittleEndian.PutUint32(h[0:], 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(h[4:], 2)
	binary.LittleEndian.PutUint16(h[6:], 4)
	binary.LittleEndian.PutUint32(h[16:], 65535)
	binary.LittleEndian.PutUint32(h[20:], 1)
	return h
}

func TestJobBounds(t *testing.T) {
	t.Run("gzip bomb", func(t *testing.T) {
		ts := startService(t, func(c *service.Config) { c.Worker.MaxCaptureBytes = 1 << 20 })
		gz := gzipped(t, pcapHeader(), make([]byte, 16<<20)) // empty records, 16 bytes each
		r := ts.do("POST", "/api/v1/captures?name=bomb.pcap.gz", acmeToken, gz)
		if r.code != http.StatusAccepted {
			t.Fatalf("upload: %v", r)
		}
		var acc api.Accepted
		decode(t, r.body, &acc)
		c := ts.wait(acmeToken, acc.ID)
		if c.Status != store.Failed || c.Error == nil || !strings.Contains(*c.Error, "--max-capture-bytes") {
			t.Errorf("gzip bomb: %s, %v", c.Status, c.Error)
		}
		if r := ts.do("GET", acc.ReportURL, acmeToken, nil); r.code != http.StatusNotFound {
			t.Errorf("report of a failed analysis: %v, want 404", r)
		}
	})
	t.Run("job timeout", func(t *testing.T) {
		ts := startService(t, func(c *service.Config) { c.Worker.JobTimeout = time.Nanosecond })
		acc := ts.uploadFile(acmeToken, "02-nat-pasv-curl-follow-client.pcap")
		c := ts.wait(acmeToken, acc.ID)
		if c.Status != store.Failed || c.Error == nil || !strings.Contains(*c.Error, "--job-timeout") {
			t.Errorf("timed-out job: %s, %v", c.Status, c.Error)
		}
		m := ts.do("GET", "/metrics", "", nil)
		if !strings.Contains(string(m.body), `ftpdiag_failures_total{reason="timeout"} 1`) {
			t.Error("metrics do not count the timeout")
		}
	})
	t.Run("nothing readable", func(t *testing.T) {
		ts := startService(t, nil)
		r := ts.do("POST", "/api/v1/captures?name=cut.pcap", acmeToken, bytes.NewReader(pcapHeader()[:20]))
		if r.code != http.StatusUnsupportedMediaType || !strings.Contains(string(r.body), "cut.pcap: ") {
			t.Errorf("a capture cut in its header: %v, want 415", r)
		}
		// A capture damaged in its first record: read, nothing in it.
		damaged := append(pcapHeader(), 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
		r = ts.do("POST", "/api/v1/captures?name=damaged.pcap", acmeToken, bytes.NewReader(damaged))
		var acc api.Accepted
		decode(t, r.body, &acc)
		c := ts.wait(acmeToken, acc.ID)
		if c.Error == nil || !strings.Contains(*c.Error, "damaged.pcap: record 1 at offset 24") {
			t.Errorf("damaged capture: %s, %v", c.Status, c.Error)
		}
	})
}

func TestExtract(t *testing.T) {
	kept := startService(t, func(c *service.Config) { c.Worker.KeepCaptures = true })
	acc := kept.uploadFile(acmeToken, "03-pasv-dropped-curl-client.pcap")
	c := kept.wait(acmeToken, acc.ID)
	if !c.KeptCapture {
		t.Error("kept_capture false with KeepCaptures")
	}
	r := kept.do("GET", acc.StatusURL+"/sessions/1/extract", acmeToken, nil)
	if r.code != http.StatusOK || r.header.Get("Content-Type") != "application/x-pcapng" ||
		!strings.Contains(r.header.Get("Content-Disposition"), "session-1_") {
		t.Fatalf("extract: %v", r)
	}
	pr, err := pcap.NewReader(bytes.NewReader(r.body), "evidence")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for ; ; n++ {
		if _, err := pr.Next(); err != nil {
			break
		}
	}
	if n == 0 {
		t.Error("evidence capture without packets")
	}
	for path, want := range map[string]int{
		acc.StatusURL + "/sessions/2/extract":                       http.StatusNotFound,
		acc.StatusURL + "/sessions/0/extract":                       http.StatusBadRequest,
		acc.StatusURL + "/sessions/x/extract":                       http.StatusBadRequest,
		"/api/v1/captures/" + store.NewID() + "/sessions/1/extract": http.StatusNotFound,
	} {
		if r := kept.do("GET", path, acmeToken, nil); r.code != want {
			t.Errorf("GET %s: %v, want %d", path, r, want)
		}
	}
	if objects, _ := kept.leftovers(); objects != 1 {
		t.Errorf("%d captures kept, want 1", objects)
	}
	kept.do("DELETE", acc.StatusURL, acmeToken, nil)
	if objects, chunks := kept.leftovers(); objects != 0 || chunks != 0 {
		t.Errorf("after DELETE: %d objects, %d chunks", objects, chunks)
	}

	dropped := startService(t, nil)
	acc = dropped.uploadFile(acmeToken, "03-pasv-dropped-curl-client.pcap")
	dropped.wait(acmeToken, acc.ID)
	if r := dropped.do("GET", acc.StatusURL+"/sessions/1/extract", acmeToken, nil); r.code != http.StatusConflict {
		t.Errorf("extract without --keep-captures: %v, want 409", r)
	}
}

func TestProbesMetricsAndOpenAPI(t *testing.T) {
	ts := startService(t, nil)
	if r := ts.do("GET", "/healthz", "", nil); r.code != http.StatusOK {
		t.Errorf("healthz: %v", r)
	}
	deadline := time.Now().Add(10 * time.Second)
	for ts.do("GET", "/readyz", "", nil).code != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("not ready after 10 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	acc := ts.uploadFile(acmeToken, "02-nat-pasv-curl-follow-client.pcap")
	ts.wait(acmeToken, acc.ID)
	m := ts.do("GET", "/metrics", "", nil)
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(string(m.body), "ftpdiag_queue_depth 0") && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond) // the job is acknowledged just after its record is final
		m = ts.do("GET", "/metrics", "", nil)
	}
	for _, want := range []string{
		`ftpdiag_uploads_total{result="accepted"} 1`, "ftpdiag_upload_bytes_total 1910", "ftpdiag_queue_depth 0",
		"ftpdiag_analysis_duration_seconds_count 1", `ftpdiag_jobs_total{status="done"} 1`, "go_goroutines", "process_resident_memory_bytes",
	} {
		if !strings.Contains(string(m.body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if r := ts.do("GET", "/api/v1/nothing", acmeToken, nil); r.code != http.StatusNotFound || !strings.Contains(string(r.body), `"error"`) {
		t.Errorf("unknown API route: %v", r)
	}

	r := ts.do("GET", "/api/v1/openapi.json", "", nil)
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	decode(t, r.body, &doc)
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi %q", doc.OpenAPI)
	}
	for _, route := range api.Routes() {
		method, path, _ := strings.Cut(route, " ")
		if _, ok := doc.Paths[path][strings.ToLower(method)]; !ok {
			t.Errorf("the OpenAPI document lacks %s", route)
		}
	}
}

func TestRefusesOpenNonLoopback(t *testing.T) {
	_, err := service.Start(context.Background(), service.Config{Listen: "0.0.0.0:0", Dir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "--tokens") {
		t.Errorf("open service on 0.0.0.0: %v, want a refusal naming --tokens", err)
	}
	for addr, want := range map[string]bool{"127.0.0.1:8080": true, "[::1]:80": true, "localhost:1": true, ":8080": false, "10.0.0.1:80": false, "example.com:80": false} {
		if got := service.IsLoopback(addr); got != want {
			t.Errorf("IsLoopback(%q) = %v", addr, got)
		}
	}
}

func TestOpenOnLoopback(t *testing.T) {
	ts := startService(t, func(c *service.Config) { c.Tokens = nil })
	acc := ts.uploadFile("", "02-nat-pasv-curl-follow-client.pcap")
	if strings.Contains(acc.HTMLURL, "key=") {
		t.Errorf("share link with a key on an open service: %s", acc.HTMLURL)
	}
	ts.wait("", acc.ID)
	if r := ts.do("GET", acc.HTMLURL, "", nil); r.code != http.StatusOK {
		t.Errorf("HTML report: %v", r)
	}
	if n := ts.records(api.OpenTenant); n != 1 {
		t.Errorf("%d records of the open tenant", n)
	}
}

func TestTokensFile(t *testing.T) {
	for _, bad := range []string{"", "# only a comment\n", "acme\n", "acme short\n", "ac.me 0123456789abcdef\n", "a 0123456789abcdef\nb 0123456789abcdef\n"} {
		if _, err := api.ParseTokens(strings.NewReader(bad)); err == nil {
			t.Errorf("ParseTokens(%q) accepted", bad)
		}
	}
	tok, err := api.ParseTokens(strings.NewReader("  # tenants\n\nacme\t0123456789abcdef  \nglobex 0123456789abcdeg\n"))
	if err != nil {
		t.Fatal(err)
	}
	if tenant, ok := tok.Tenant("0123456789abcdeg"); !ok || tenant != "globex" {
		t.Errorf("Tenant = %q, %v", tenant, ok)
	}
	if _, ok := tok.Tenant("0123456789abcdeX"); ok {
		t.Error("an unknown token has a tenant")
	}
}
