package ftpdiag

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"ftpdiag/analyze"
	"ftpdiag/correlate"
	"ftpdiag/extract"
	"ftpdiag/ftpflow"
	"ftpdiag/report"
	"ftpdiag/tlsdecrypt"
)

// JSONReport is where and how the JSON document (schema ftpdiag/v1) is
// written.
type JSONReport struct {
	// W receives the document.
	W io.Writer
	// OneLine writes the document on a single line, for JSON Lines; by
	// default it is indented by two spaces (report.WriteJSON).
	OneLine bool
	// Status, if set, gives the document a "status" member: what Status
	// returns for the finished analysis (ftpdiag --each: the exit status of
	// that input alone).
	Status func(*Result) int
	// EncodeAhead encodes the sessions on another goroutine while the
	// analysis reads on, when they are streamed. The document is the same.
	EncodeAhead bool
}

// TextReport is where and how the terminal report is written
// (report.WriteText).
type TextReport struct {
	W       io.Writer
	Options report.TextOptions
}

// HTMLReport is where and how the HTML page is written (report.WriteHTML).
type HTMLReport struct {
	W       io.Writer
	Options report.HTMLOptions
}

// Outputs are the reports Run writes, in this order: the HTML pages, the
// text reports, the JSON document; and what it keeps for the caller.
type Outputs struct {
	HTML []HTMLReport
	// Text reports are written only when something could be read.
	Text []TextReport
	JSON *JSONReport
	// Views, if set, is what comparing the inputs packet by packet found
	// (correlate.Correlate): every report shows it.
	Views *correlate.Result
	// Evidence asks for Result.Evidence, the sessions worth an evidence
	// capture.
	Evidence bool
	// KeepSessions keeps the whole analysis even when the JSON document is
	// the only report, for a caller that reads the sessions afterwards
	// (annotate.Write).
	KeepSessions bool
	// Analysed, if set, is called once the analysis is over, before any
	// report is written, with the Result so far and the analysis's error:
	// to stop a progress display, or to say what went wrong reading before
	// the report follows.
	Analysed func(*Result, error)
}

// streams reports whether the outputs allow the sessions to be let go as
// they become final: the JSON document is the only report.
func (o *Outputs) streams() bool {
	return o.JSON != nil && len(o.Text) == 0 && len(o.HTML) == 0 && !o.KeepSessions
}

// Result is what Run found.
type Result struct {
	// Analysis is analyze.Run's, never nil. When Streamed, its Sessions
	// are empty and its Findings hold only those about the whole capture:
	// the others went into the JSON document with their sessions.
	Analysis *analyze.Analysis
	// Streamed says the sessions were encoded as they became final and let
	// go (see Outputs).
	Streamed bool
	// Findings counts every finding, those let go with their sessions
	// included; Worst is the most severe of them (Info when none).
	Findings int
	Worst    analyze.Severity
	// NothingRead says no input could be read at all: the error wraps
	// analyze.ErrNothingRead.
	NothingRead bool
	// Evidence, with Outputs.Evidence, are the sessions with an error
	// finding and those such findings cite, by session ID, for
	// extract.ToDir (none when nothing could be read).
	Evidence []extract.Target
}

// Reaches reports whether a finding is at least as severe as s (the
// command's --fail-on).
func (r *Result) Reaches(s analyze.Severity) bool { return r.Findings > 0 && r.Worst >= s }

// count takes findings into Findings and Worst.
func (r *Result) count(fs []analyze.Finding) {
	for _, f := range fs {
		r.Findings++
		r.Worst = max(r.Worst, f.Severity)
	}
}

// WriteError is a report that could not be written: Run's error wraps one
// per such report, beside the analysis's own problems.
type WriteError struct {
	// Report names it: "JSON", "text" or "HTML".
	Report string
	Err    error
}

// Error says which report could not be written, and why.
func (e *WriteError) Error() string { return "writing " + e.Report + ": " + e.Err.Error() }

// Unwrap returns the writer's error.
func (e *WriteError) Unwrap() error { return e.Err }

// errSessionsTaken refuses options whose Sessions Run would overwrite.
var errSessionsTaken = errors.New("ftpdiag: analyze.Options.Sessions must be nil: Run hands the sessions on itself")

// Run analyses the inputs as analyze.Run does (opt as there, with Sessions
// nil), then writes the reports out asks for. With the JSON document as
// the only report (and no KeepSessions), each session is encoded as soon
// as its analysis is final and let go, so memory follows the sessions
// open at once, not the length of the capture; otherwise the analysis is
// kept whole, as the other reports need it.
//
// The Result is never nil and holds everything that could be read. The
// error joins the analysis's (see analyze.Run: it wraps
// analyze.ErrNothingRead when nothing could be read, ctx's error when
// interrupted) and a *WriteError per report that could not be written;
// the reports are written all the same after a problem reading.
func Run(ctx context.Context, inputs []analyze.Input, opt analyze.Options, out Outputs) (*Result, error) {
	if opt.Sessions != nil {
		return &Result{Analysis: &analyze.Analysis{}}, errSessionsTaken
	}
	joined := correlate.Joinable(out.Views)
	// Views are analysed one by one and joined at the end: their
	// sessions cannot be let go as they come.
	r := &runner{out: out, res: &Result{Streamed: out.streams() && !joined}}
	if out.JSON != nil {
		r.js = report.NewJSONStream(out.JSON.OneLine, 0)
		defer r.js.Close()
	}
	wait := func() {}
	if r.res.Streamed {
		opt.Sessions, wait = r.stream()
	}
	var a *analyze.Analysis
	var err error
	if joined {
		a, err = analyzeViews(ctx, inputs, opt, out.Views)
	} else {
		a, err = analyze.Run(ctx, inputs, opt)
	}
	wait()
	r.analysed(a, err)
	if out.Analysed != nil {
		out.Analysed(r.res, err)
	}
	return r.res, errors.Join(append([]error{err}, r.write()...)...)
}

// runner is the state of one Run.
type runner struct {
	out Outputs
	res *Result
	js  *report.JSONStream // with Outputs.JSON
	// With a stream and Outputs.Evidence: the target of every session,
	// and the error findings about them.
	targets []extract.Target
	errs    []analyze.Finding
}

// encodeQueue is how many sessions may wait for the JSON encoder.
const encodeQueue = 64

// stream returns the analysis's Sessions hook, which encodes each session
// into the JSON document and keeps what Result needs of it, and the
// function that waits for the encoder.
func (r *runner) stream() (sessions func(*ftpflow.Session, []analyze.Finding), wait func()) {
	encode, wait := r.js.Session, func() {}
	if r.out.JSON.EncodeAhead {
		// Encoding the report is a sixth of the work: another core can
		// do it while this one reads on.
		encode, wait = r.js.Background(encodeQueue)
	}
	return func(s *ftpflow.Session, fs []analyze.Finding) {
		encode(s, fs)
		r.res.count(fs)
		if r.out.Evidence {
			r.targets = append(r.targets, extract.TargetOf(s))
			r.errs = append(r.errs, evidenceCues(fs)...)
		}
	}, wait
}

// analysed completes the Result with the finished analysis.
func (r *runner) analysed(a *analyze.Analysis, err error) {
	r.res.Analysis = a
	r.res.count(a.Findings)
	r.res.NothingRead = errors.Is(err, analyze.ErrNothingRead)
	if !r.out.Evidence || r.res.NothingRead {
		return
	}
	if !r.res.Streamed {
		r.targets = extract.Targets(a.Sessions)
	}
	r.res.Evidence = extract.Failing(append(r.errs, a.Findings...), r.targets)
	r.targets, r.errs = nil, nil
}

// write writes the reports, in the order of Outputs, and returns one
// *WriteError per report that failed.
func (r *runner) write() []error {
	var errs []error
	a := r.res.Analysis
	for _, h := range r.out.HTML {
		if r.out.Views != nil {
			h.Options.Views = r.out.Views
		}
		if err := report.WriteHTML(h.W, a, h.Options); err != nil {
			errs = append(errs, &WriteError{Report: "HTML", Err: err})
		}
	}
	for _, t := range r.out.Text {
		if r.res.NothingRead {
			break
		}
		if r.out.Views != nil {
			t.Options.Views = r.out.Views
		}
		if err := report.WriteText(t.W, a, t.Options); err != nil {
			errs = append(errs, &WriteError{Report: "text", Err: err})
		}
	}
	if r.out.JSON != nil {
		if err := r.writeJSON(); err != nil {
			errs = append(errs, &WriteError{Report: "JSON", Err: err})
		}
	}
	return errs
}

// writeJSON writes the JSON document: of the sessions streamed, or of
// the whole analysis.
func (r *runner) writeJSON() error {
	a := r.res.Analysis
	if !r.res.Streamed {
		r.js.SetSessionViews(a.Views)
		for _, s := range a.Sessions {
			r.js.Session(s, nil)
		}
	}
	if r.out.JSON.Status != nil {
		r.js.SetStatus(r.out.JSON.Status(r.res))
	}
	r.js.SetViews(r.out.Views)
	return r.js.Finish(r.out.JSON.W, a)
}

// evidenceCues returns, of the error findings among fs, what
// extract.Failing reads to choose the evidence captures.
func evidenceCues(fs []analyze.Finding) []analyze.Finding {
	var out []analyze.Finding
	for _, f := range fs {
		if f.Severity == analyze.Error {
			// Only what extract.Failing reads: a streamed analysis of
			// many failing sessions would otherwise keep every finding
			// whole (explanation, evidence) to the end.
			out = append(out, analyze.Finding{Severity: f.Severity, Session: f.Session, Refs: analyze.Refs{Sessions: f.Refs.Sessions}})
		}
	}
	return out
}

// MaxKeyLogFileSize bounds the key log file ReadKeyLog reads: 256 MiB,
// about as much as tlsdecrypt.MaxKeyLogEntries connections of TLS 1.3
// take.
const MaxKeyLogFileSize = 256 << 20

// ReadKeyLog reads a TLS key log file (the NSS SSLKEYLOGFILE format that
// curl, Firefox, OpenSSL, GnuTLS and Python write) for
// analyze.Options.Tracker.KeyLog, so that FTPS control connections are
// decrypted and analysed as clear text. A file larger than
// MaxKeyLogFileSize, or with a malformed line, is an error naming the file
// and the line; errors never quote the file's content, which is secret.
func ReadKeyLog(name string) (*tlsdecrypt.KeyLog, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("key log: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("key log %s: %w", name, err)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("key log %s: is a directory", name)
	}
	if st.Size() > MaxKeyLogFileSize {
		return nil, fmt.Errorf("key log %s: %d bytes, more than the %d a key log may have", name, st.Size(), MaxKeyLogFileSize)
	}
	k, err := tlsdecrypt.ParseKeyLog(io.LimitReader(f, MaxKeyLogFileSize))
	if err != nil {
		return nil, fmt.Errorf("key log %s: %w", name, err)
	}
	return k, nil
}
