package service_test

import (
	"bytes"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ftpdiag/internal/version"
	"ftpdiag/pcap"
	"ftpdiag/service"
)

// TestAnnotated: while the capture is kept, GET .../annotated answers it
// as one pcapng whose packets are the input's with the diagnosis as
// comments, and the report page links it; without --keep-captures it is
// 409, and another tenant gets 404.
func TestAnnotated(t *testing.T) {
	kept := startService(t, func(c *service.Config) { c.Worker.KeepCaptures = true })
	acc := kept.uploadFile(acmeToken, "03-pasv-dropped-curl-client.pcap")
	kept.wait(acmeToken, acc.ID)
	for _, query := range []string{"", "?lesson=true"} {
		r := kept.do("GET", acc.StatusURL+"/annotated"+query, acmeToken, nil)
		if r.code != http.StatusOK || r.header.Get("Content-Type") != "application/x-pcapng" {
			t.Fatalf("annotated%s: %v", query, r)
		}
		samePackets(t, filepath.Join(fixtures, "03-pasv-dropped-curl-client.pcap"), r.body)
		namesVersion(t, r.body)
		packets, comments := readComments(t, r.body)
		if packets == 0 || !strings.Contains(comments, "F1 ERROR") {
			t.Errorf("annotated%s: %d packets, comments %.200q", query, packets, comments)
		}
		if lesson := strings.Contains(comments, "*256+"); lesson != (query != "") {
			t.Errorf("annotated%s: lesson notes present %v", query, lesson)
		}
	}
	page := kept.do("GET", "/captures/"+acc.ID, acmeToken, nil)
	if !strings.Contains(string(page.body), "/api/v1/captures/"+acc.ID+"/annotated") {
		t.Error("the report page has no link to the annotated capture")
	}
	if r := kept.do("GET", acc.StatusURL+"/annotated", globexToken, nil); r.code != http.StatusNotFound {
		t.Errorf("another tenant: %v, want 404", r)
	}

	dropped := startService(t, nil)
	acc = dropped.uploadFile(acmeToken, "03-pasv-dropped-curl-client.pcap")
	dropped.wait(acmeToken, acc.ID)
	if r := dropped.do("GET", acc.StatusURL+"/annotated", acmeToken, nil); r.code != http.StatusConflict {
		t.Errorf("annotated without --keep-captures: %v, want 409", r)
	}
}

// samePackets checks that a served annotated capture holds the uploaded
// capture's packets, frame by frame: the same bytes, original length,
// link type and timestamp, read with the project's pcap reader.
func samePackets(t *testing.T, uploaded string, served []byte) {
	t.Helper()
	in, err := pcap.OpenSequential(uploaded)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := pcap.NewReader(bytes.NewReader(served), "annotated")
	if err != nil {
		t.Fatal(err)
	}
	for n := 1; ; n++ {
		w, werr := in.Next()
		g, gerr := out.Next()
		if werr != nil || gerr != nil {
			if werr != io.EOF || gerr != io.EOF {
				t.Fatalf("frame %d: uploaded capture %v, served one %v", n, werr, gerr)
			}
			return
		}
		if !g.Timestamp.Equal(w.Timestamp) || !bytes.Equal(g.Data, w.Data) || g.OriginalLength != w.OriginalLength || g.LinkType != w.LinkType {
			t.Errorf("frame %d: served %s, %d of %d bytes, %v; uploaded %s, %d of %d bytes, %v", n,
				g.Timestamp.Format(time.RFC3339Nano), len(g.Data), g.OriginalLength, g.LinkType,
				w.Timestamp.Format(time.RFC3339Nano), len(w.Data), w.OriginalLength, w.LinkType)
		}
	}
}

// namesVersion checks that a served annotated capture's section header
// names the ftpdiag version.
func namesVersion(t *testing.T, served []byte) {
	t.Helper()
	r, err := pcap.NewReader(bytes.NewReader(served), "annotated")
	if err != nil {
		t.Fatal(err)
	}
	want := "ftpdiag " + version.String() + ": diagnosis of "
	if cs := r.SectionComments(); len(cs) == 0 || !strings.HasPrefix(cs[0], want) {
		t.Errorf("section comments %.200q, want the first to begin %q", cs, want)
	}
}

// readComments counts the packets of a capture and joins their comments.
func readComments(t *testing.T, capture []byte) (int, string) {
	t.Helper()
	r, err := pcap.NewReader(bytes.NewReader(capture), "annotated")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	var comments []string
	for ; ; n++ {
		p, err := r.Next()
		if err != nil {
			break
		}
		comments = append(comments, p.Comments...)
	}
	return n, strings.Join(comments, "\n")
}
