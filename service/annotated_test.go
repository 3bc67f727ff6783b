package service_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

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
