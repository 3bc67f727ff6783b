package report

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"strings"
	"testing"

	"ftpdiag/analyze"
	"ftpdiag/correlate"
)

// TestViews writes the JSON document and the terminal report of a client
// and server capture pair, and checks the views, the translation, the
// rewritten 227 and the vanished SYNs in both; the document must follow
// the JSON Schema.
func TestViews(t *testing.T) {
	tests := []struct {
		scenario string
		json     []string // substrings of the "correlation" member
		text     []string // lines of the "Two views" section
		where    [2]string
	}{
		{
			scenario: "02-nat-pasv-helper-curl-follow",
			json: []string{`"mode":"views"`, `"nat":"destination"`, `"in_b":"198.51.100.10:43322 \u003e 172.16.40.222:21"`,
				`"text_a":"227 Entering Passive Mode (203,0,113,10,117,54).","text_b":"227 Entering Passive Mode (172,16,40,222,117,54).","len_a":50,"len_b":51,"seq_shift":1`},
			where: [2]string{"client", "server"},
			text: []string{"Two views (the same traffic captured at two places)",
				`rewritten on the way, 203.0.113.10:21 > 198.51.100.10:43322: frame 14 of 1 "227 Entering Passive Mode (203,0,113,10,117,54).", frame 14 of 2 "227 Entering Passive Mode (172,16,40,222,117,54)." (sequence numbers shifted by +1 after it)`},
		},
		{
			scenario: "03-pasv-dropped-curl",
			json:     []string{`"kind":"syn_lost","seen_in":0,"missing_in":1,"from":"198.51.100.10:59762","to":"203.0.113.10:30000","packets":3`},
			text: []string{"  198.51.100.10:59762 > 203.0.113.10:30000: only in 1 (from frame 15)",
				"    left 198.51.100.10:59762 > 203.0.113.10:30000: 3 packets seen only in 1 (frames 15,17,18):\n      3 SYNs to 203.0.113.10:30000 never reached the other capture point"},
		},
	}
	schema := compileSchema(t)
	for _, tt := range tests {
		t.Run(tt.scenario, func(t *testing.T) {
			in := analyze.Files("../fixtures/captures/"+tt.scenario+"-client.pcap", "../fixtures/captures/"+tt.scenario+"-server.pcap")
			r, err := correlate.Correlate(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			a, err := analyze.Run(context.Background(), in, analyze.Options{})
			if err != nil {
				t.Fatal(err)
			}
			var js bytes.Buffer
			if err := WriteJSONViews(&js, a, true, r); err != nil {
				t.Fatal(err)
			}
			validate(t, schema, js.Bytes())
			var doc Document
			if err := json.Unmarshal(js.Bytes(), &doc); err != nil {
				t.Fatalf("document does not decode: %v", err)
			}
			if len(doc.Views) != 2 || doc.Correlation == nil || doc.Views[0].Hosts == nil {
				t.Fatalf("views %+v, correlation %v; want two views and a correlation", doc.Views, doc.Correlation)
			}
			if tt.where[0] != "" && (doc.Views[0].Vantage.Side != tt.where[0] || doc.Views[1].Vantage.Side != tt.where[1]) {
				t.Errorf("views captured at %q and %q, want %q", doc.Views[0].Vantage.Side, doc.Views[1].Vantage.Side, tt.where)
			}
			for _, s := range tt.json {
				if !strings.Contains(js.String(), s) {
					t.Errorf("JSON lacks %s", s)
				}
			}
			var plain bytes.Buffer
			if err := WriteJSON(&plain, a, true); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(plain.String(), `"views"`) {
				t.Error("WriteJSON without views writes a views member")
			}
			var txt bytes.Buffer
			if err := WriteText(&txt, a, TextOptions{Views: r}); err != nil {
				t.Fatal(err)
			}
			text := tt.text
			if tt.where[0] != "" {
				text = append(text, fmt.Sprintf("  Captured: 1 at the %s, 2 at the %s (the vantage points of their sessions)", tt.where[0], tt.where[1]))
			}
			for _, s := range text {
				if !strings.Contains(txt.String(), s) {
					t.Errorf("text lacks %q; the section is:\n%s", s, section(txt.String()))
				}
			}
			checkHTMLViews(t, a, r, tt.text)
		})
	}
}

func section(s string) string {
	if i := strings.Index(s, "Two views"); i >= 0 {
		return s[i:]
	}
	return "(none)"
}

// checkHTMLViews writes the HTML page with and without the comparison:
// with it, the "Two views" section holds each of the text's lines (their
// first line), without it there is no such section.
func checkHTMLViews(t *testing.T, a *analyze.Analysis, r *correlate.Result, lines []string) {
	t.Helper()
	var with, without bytes.Buffer
	if err := WriteHTML(&with, a, HTMLOptions{Views: r}); err != nil {
		t.Fatal(err)
	}
	if err := WriteHTML(&without, a, HTMLOptions{}); err != nil {
		t.Fatal(err)
	}
	const heading = "<h2>Two views: the same traffic captured at two places</h2>"
	if strings.Contains(without.String(), heading) {
		t.Error("HTML without views has a Two views section")
	}
	page := with.String()
	i := strings.Index(page, heading)
	if i < 0 {
		t.Fatal("HTML with views has no Two views section")
	}
	sec := page[i:]
	sec = sec[:strings.Index(sec, "<h2>Sessions</h2>")]
	for _, l := range lines[1:] {
		first := strings.TrimSpace(strings.SplitN(l, "\n", 2)[0])
		first = strings.TrimSuffix(first, ":")
		if !strings.Contains(html.UnescapeString(sec), first) {
			t.Errorf("HTML views lack %q; the section is:\n%s", first, sec)
		}
	}
}
