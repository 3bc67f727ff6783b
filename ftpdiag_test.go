package ftpdiag_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"ftpdiag"
	"ftpdiag/analyze"
	"ftpdiag/extract"
	"ftpdiag/ftpflow"
	"ftpdiag/report"
)

const (
	natCapture     = "fixtures/captures/02-nat-pasv-curl-follow-client.pcap" // one error finding
	holdersCapture = "fixtures/captures/12-synthetic-pasv-in-use-425.pcap"   // an error citing other sessions
	healthyCapture = "fixtures/captures/01-passive-vsftpd-curl-client.pcap"  // no finding at all
)

// TestRunStreamsOnlyJSON: the analysis is let go session by session
// exactly when the JSON document is the only report and nobody keeps the
// sessions.
func TestRunStreamsOnlyJSON(t *testing.T) {
	json := func() *ftpdiag.JSONReport { return &ftpdiag.JSONReport{W: io.Discard} }
	tests := []struct {
		name   string
		out    ftpdiag.Outputs
		stream bool
	}{
		{"JSON only", ftpdiag.Outputs{JSON: json()}, true},
		{"JSON and evidence", ftpdiag.Outputs{JSON: json(), Evidence: true}, true},
		{"JSON, sessions kept", ftpdiag.Outputs{JSON: json(), KeepSessions: true}, false},
		{"JSON and text", ftpdiag.Outputs{JSON: json(), Text: []ftpdiag.TextReport{{W: io.Discard}}}, false},
		{"JSON and HTML", ftpdiag.Outputs{JSON: json(), HTML: []ftpdiag.HTMLReport{{W: io.Discard}}}, false},
		{"text only", ftpdiag.Outputs{Text: []ftpdiag.TextReport{{W: io.Discard}}}, false},
		{"no report", ftpdiag.Outputs{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := ftpdiag.Run(context.Background(), analyze.Files(holdersCapture), analyze.Options{}, tt.out)
			if err != nil {
				t.Fatal(err)
			}
			if res.Streamed != tt.stream || (len(res.Analysis.Sessions) == 0) != tt.stream {
				t.Errorf("streamed %v with %d sessions kept, want streamed %v", res.Streamed, len(res.Analysis.Sessions), tt.stream)
			}
		})
	}
}

// TestRunSameStreamedOrWhole: for every fixture, the JSON document, the
// finding counts and the evidence targets are the same whether the
// analysis streams (encoding on this goroutine or another) or is kept
// whole, and the document is report.WriteJSON's.
func TestRunSameStreamedOrWhole(t *testing.T) {
	paths, err := filepath.Glob("fixtures/captures/*.pcap*")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) { checkModes(t, path) })
	}
}

// checkModes compares what each mode gives for path with what
// report.WriteJSON and extract.Failing give for analyze.Run's analysis.
func checkModes(t *testing.T, path string) {
	a, _ := analyze.Run(context.Background(), analyze.Files(path), analyze.Options{})
	var want bytes.Buffer
	if err := report.WriteJSON(&want, a, false); err != nil {
		t.Fatal(err)
	}
	wantTargets := extract.Failing(a.Findings, extract.Targets(a.Sessions))
	for _, m := range []mode{{"whole", true, false}, {"streamed", false, false}, {"streamed, encoded ahead", false, true}} {
		doc, res := m.run(path)
		if doc != want.String() {
			t.Errorf("%s: the JSON document differs from report.WriteJSON's", m.name)
		}
		if res.Findings != len(a.Findings) || res.Worst != worst(a.Findings) {
			t.Errorf("%s: %d findings, worst %v; want %d, %v", m.name, res.Findings, res.Worst, len(a.Findings), worst(a.Findings))
		}
		if !reflect.DeepEqual(res.Evidence, wantTargets) {
			t.Errorf("%s: evidence %+v, want %+v", m.name, res.Evidence, wantTargets)
		}
	}
}

// mode is a way to run the JSON report: with the analysis kept whole or
// streamed, encoded on the analysis's goroutine or ahead.
type mode struct {
	name        string
	keep, ahead bool
}

// run writes the JSON document of path, with the evidence targets.
func (m mode) run(path string) (string, *ftpdiag.Result) {
	var doc bytes.Buffer
	out := ftpdiag.Outputs{JSON: &ftpdiag.JSONReport{W: &doc, EncodeAhead: m.ahead}, KeepSessions: m.keep, Evidence: true}
	res, _ := ftpdiag.Run(context.Background(), analyze.Files(path), analyze.Options{}, out)
	return doc.String(), res
}

func worst(fs []analyze.Finding) analyze.Severity {
	w := analyze.Info
	for _, f := range fs {
		w = max(w, f.Severity)
	}
	return w
}

// TestRunReaches: Reaches follows the most severe finding, and nothing
// reaches any severity when there is no finding.
func TestRunReaches(t *testing.T) {
	tests := []struct {
		path string
		want map[analyze.Severity]bool
	}{
		{natCapture, map[analyze.Severity]bool{analyze.Info: true, analyze.Warning: true, analyze.Error: true, analyze.Error + 1: false}},
		{healthyCapture, map[analyze.Severity]bool{analyze.Info: false, analyze.Warning: false, analyze.Error: false}},
	}
	for _, tt := range tests {
		res, err := ftpdiag.Run(context.Background(), analyze.Files(tt.path), analyze.Options{}, ftpdiag.Outputs{JSON: &ftpdiag.JSONReport{W: io.Discard}})
		if err != nil {
			t.Fatal(err)
		}
		for s, want := range tt.want {
			if got := res.Reaches(s); got != want {
				t.Errorf("%s: Reaches(%v) = %v, want %v", tt.path, s, got, want)
			}
		}
	}
}

// TestRunStatus: the JSON document's "status" member is what Status
// returns for the finished analysis.
func TestRunStatus(t *testing.T) {
	var doc bytes.Buffer
	var seen *ftpdiag.Result
	status := func(r *ftpdiag.Result) int {
		seen = r
		return 7
	}
	res, err := ftpdiag.Run(context.Background(), analyze.Files(natCapture), analyze.Options{},
		ftpdiag.Outputs{JSON: &ftpdiag.JSONReport{W: &doc, OneLine: true, Status: status}})
	if err != nil {
		t.Fatal(err)
	}
	if seen != res || !strings.HasPrefix(doc.String(), `{"schema":"ftpdiag/v1","status":7,`) || strings.Count(doc.String(), "\n") != 1 {
		t.Errorf("status given the result %v; document %.80q", seen == res, doc.String())
	}
}

// TestRunNothingRead: when nothing could be read, the error wraps
// analyze.ErrNothingRead, the text report is left out and the JSON and
// HTML reports are written (they say so).
func TestRunNothingRead(t *testing.T) {
	var text, doc, page bytes.Buffer
	missing := filepath.Join(t.TempDir(), "missing.pcap")
	res, err := ftpdiag.Run(context.Background(), analyze.Files(missing), analyze.Options{}, ftpdiag.Outputs{
		Text: []ftpdiag.TextReport{{W: &text}}, JSON: &ftpdiag.JSONReport{W: &doc}, HTML: []ftpdiag.HTMLReport{{W: &page}}, Evidence: true,
	})
	if !errors.Is(err, analyze.ErrNothingRead) || !res.NothingRead || res.Analysis == nil {
		t.Fatalf("error %v, NothingRead %v", err, res.NothingRead)
	}
	if text.Len() != 0 || doc.Len() == 0 || page.Len() == 0 || res.Evidence != nil {
		t.Errorf("text %d bytes (want 0), JSON %d, HTML %d (want some), evidence %v", text.Len(), doc.Len(), page.Len(), res.Evidence)
	}
}

// TestRunWriteErrors: a report that cannot be written is a *WriteError
// naming it, beside the analysis's own problems; the other reports are
// written all the same.
func TestRunWriteErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.pcap")
	inputs := analyze.Files(missing, natCapture)
	tests := []struct {
		report string
		out    func(failing, good io.Writer) ftpdiag.Outputs
	}{
		{"JSON", func(f, g io.Writer) ftpdiag.Outputs {
			return ftpdiag.Outputs{JSON: &ftpdiag.JSONReport{W: f}, HTML: []ftpdiag.HTMLReport{{W: g}}}
		}},
		{"HTML", func(f, g io.Writer) ftpdiag.Outputs {
			return ftpdiag.Outputs{HTML: []ftpdiag.HTMLReport{{W: f}}, Text: []ftpdiag.TextReport{{W: g}}}
		}},
		{"text", func(f, g io.Writer) ftpdiag.Outputs {
			return ftpdiag.Outputs{Text: []ftpdiag.TextReport{{W: f}}, JSON: &ftpdiag.JSONReport{W: g}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.report, func(t *testing.T) {
			var good bytes.Buffer
			_, err := ftpdiag.Run(context.Background(), inputs, analyze.Options{}, tt.out(failingWriter{}, &good))
			var we *ftpdiag.WriteError
			if !errors.As(err, &we) || we.Report != tt.report || !errors.Is(err, os.ErrClosed) {
				t.Fatalf("error %v, want a *WriteError for %s wrapping the writer's", err, tt.report)
			}
			if !strings.Contains(err.Error(), "missing.pcap") {
				t.Errorf("error %v lost the analysis's problem", err)
			}
			if good.Len() == 0 {
				t.Error("the other report was not written")
			}
		})
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, os.ErrClosed }

// TestRunAnalysedBeforeReports: Analysed is called once, with the result
// and the analysis's error, before any report is written.
func TestRunAnalysedBeforeReports(t *testing.T) {
	var doc bytes.Buffer
	calls := 0
	out := ftpdiag.Outputs{JSON: &ftpdiag.JSONReport{W: &doc}, Analysed: func(r *ftpdiag.Result, err error) {
		calls++
		if doc.Len() != 0 || r.Analysis == nil || r.Findings == 0 || err != nil {
			t.Errorf("Analysed: %d bytes written, result %+v, error %v", doc.Len(), r, err)
		}
	}}
	if _, err := ftpdiag.Run(context.Background(), analyze.Files(natCapture), analyze.Options{}, out); err != nil {
		t.Fatal(err)
	}
	if calls != 1 || doc.Len() == 0 {
		t.Errorf("Analysed called %d times, %d bytes written", calls, doc.Len())
	}
}

// TestRunRefusesSessionsHook: Options.Sessions is Run's to set.
func TestRunRefusesSessionsHook(t *testing.T) {
	opt := analyze.Options{Sessions: func(*ftpflow.Session, []analyze.Finding) {}}
	res, err := ftpdiag.Run(context.Background(), analyze.Files(natCapture), opt, ftpdiag.Outputs{})
	if err == nil || res == nil || res.Analysis == nil {
		t.Errorf("result %v, error %v; want a result and an error", res, err)
	}
}
