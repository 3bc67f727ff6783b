package report

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"ftpdiag/analyze"
	"ftpdiag/ftpflow"
	"ftpdiag/internal/simtrace"
)

// TestIncompleteReplyShown: a multi-line reply whose closing line the
// capture lacks (the greeting's, ended by the client's USER) is marked in
// the JSON ("incomplete": true, valid against the schema) and in the
// ladder of --explain, with what that means; a complete one (the 331) is
// not.
func TestIncompleteReplyShown(t *testing.T) {
	tr := simtrace.New()
	c := tr.Conv("198.51.100.10:40000", "203.0.113.5:21").Open()
	// The greeting's closing line "220 ready" is not in the capture;
	// the client's USER ends it.
	c.Say(simtrace.Server, "220-Welcome to the\r\n archive\r\n")
	c.Say(simtrace.Client, "USER anonymous\r\n")
	c.Say(simtrace.Server, "331-Guest login ok,\r\n331 send your address.\r\n")
	var capture bytes.Buffer
	if err := tr.WritePcap(&capture); err != nil {
		t.Fatal(err)
	}
	a, err := analyze.Run(context.Background(), []analyze.Input{{Name: "cut-feat.pcap", Reader: &capture}}, analyze.Options{Tracker: ftpflow.Config{KeepLog: true}})
	if err != nil {
		t.Fatal(err)
	}
	var js bytes.Buffer
	if err := WriteJSON(&js, a, true); err != nil {
		t.Fatal(err)
	}
	validate(t, compileSchema(t), js.Bytes())
	if n := strings.Count(js.String(), `"incomplete":true`); n != 1 {
		t.Errorf(`"incomplete":true appears %d times, want once (the greeting); JSON: %s`, n, js.String())
	}
	var txt bytes.Buffer
	if err := WriteText(&txt, a, TextOptions{Explain: true, Timeline: TimelineOptions{}}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<- 220 Welcome to the ... [incomplete]", "closing line never came"} {
		if !strings.Contains(txt.String(), want) {
			t.Errorf("the explained report lacks %q:\n%s", want, txt.String())
		}
	}
	if strings.Count(txt.String(), "[incomplete]") != 1 {
		t.Errorf("[incomplete] on more than the cut reply:\n%s", txt.String())
	}
}
