package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"

	"ftpdiag/analyze"
	"ftpdiag/ftpflow"
)

// DefaultSpoolMemory is how many bytes of encoded sessions, and of encoded
// findings, a JSONStream holds in memory before it moves them to a
// temporary file.
const DefaultSpoolMemory = 256 << 10

// JSONStream writes the JSON document of an analysis that hands its
// sessions on while the capture is read (analyze.Options.Sessions). Each
// session and finding is encoded as it comes, and the analysis objects can
// be let go; the encoded text waits in memory up to a bound, then in an
// unlinked temporary file, since the document begins with the inputs and
// statistics known only at the end. Finish writes the document, sessions in
// ID order, byte for byte as WriteJSON writes it for the same analysis.
//
// If no temporary file can be made, the text stays in memory.
type JSONStream struct {
	oneLine bool
	// enc encodes sessions and findings into encoded, both reused: their
	// text is copied to a spool at once.
	enc      *json.Encoder
	encoded  bytes.Buffer
	sessions spool
	index    []chunk // where each session's text lies in sessions
	findings spool
	nFinding int
	err      error
	closed   bool
	status   *int // see SetStatus
	// after writes members after "findings" (see SetViews).
	after func(*jsonWriter)
	// vantages tallies where each file's sessions were seen from, for
	// the views.
	vantages fileVantages
	// sessionViews says how each input saw each session of a joined
	// analysis (see SetSessionViews).
	sessionViews map[int][]analyze.SessionView
}

// SetSessionViews gives the sessions of a joined analysis of several
// views (analyze.Analysis.Views) their "views" member; call it before the
// sessions are handed to Session.
func (js *JSONStream) SetSessionViews(views map[int][]analyze.SessionView) { js.sessionViews = views }

// SetStatus gives the document a "status" member (after "schema"): the
// exit status of its input alone, for the JSON Lines of ftpdiag --each.
func (js *JSONStream) SetStatus(status int) { js.status = &status }

// chunk locates one session's encoded text.
type chunk struct {
	id     int
	off, n int64
}

// NewJSONStream returns a stream for one document (see WriteJSON for
// oneLine). memory bounds the bytes held in memory by each of its two
// spools (DefaultSpoolMemory when 0 or less).
func NewJSONStream(oneLine bool, memory int) *JSONStream {
	if memory <= 0 {
		memory = DefaultSpoolMemory
	}
	js := &JSONStream{oneLine: oneLine, sessions: spool{limit: memory}, findings: spool{limit: memory}, vantages: fileVantages{}}
	js.enc = json.NewEncoder(&js.encoded)
	if !oneLine {
		js.enc.SetIndent(strings.Repeat("  ", 2), "  ")
	}
	return js
}

// encode encodes v as an element of a top-level array of the document, as
// encodeValue(2, v) does, into js.encoded.
func (js *JSONStream) encode(v any) ([]byte, error) {
	js.encoded.Reset()
	if err := js.enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(js.encoded.Bytes(), []byte("\n")), nil
}

// Session encodes a session and the findings about it. Its signature is
// that of analyze.Options.Sessions; an error is kept for Finish.
func (js *JSONStream) Session(s *ftpflow.Session, findings []analyze.Finding) {
	if js.err != nil {
		return
	}
	bs := buildSession(s, js.sessionViews[s.ID])
	js.vantages.add(s.Control.First.Input, bs.Vantage)
	for _, v := range bs.Views[min(1, len(bs.Views)):] {
		js.vantages.add(v.Input, v.Vantage)
	}
	b, err := js.encode(bs)
	if err == nil {
		var off int64
		off, err = js.sessions.write(b)
		js.index = append(js.index, chunk{id: s.ID, off: off, n: int64(len(b))})
	}
	if err != nil {
		js.err = fmt.Errorf("session %d: %w", s.ID, err)
		return
	}
	js.Findings(findings)
}

// Background returns a function to use in place of Session that encodes
// on another goroutine, queueing up to queue sessions, and a function that
// waits until every session handed to it is encoded; call wait before
// Findings or Finish. The document is the same: sessions are encoded in
// the order they are handed on. The analysis must not touch a session
// after handing it on (analyze does not).
func (js *JSONStream) Background(queue int) (session func(*ftpflow.Session, []analyze.Finding), wait func()) {
	type item struct {
		s  *ftpflow.Session
		fs []analyze.Finding
	}
	items := make(chan item, queue)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for it := range items {
			js.Session(it.s, it.fs)
		}
	}()
	session = func(s *ftpflow.Session, fs []analyze.Finding) { items <- item{s, fs} }
	wait = func() {
		close(items)
		<-done
	}
	return session, wait
}

// Findings encodes findings, after those already taken.
func (js *JSONStream) Findings(fs []analyze.Finding) {
	for _, f := range fs {
		if js.err != nil {
			return
		}
		sep := lineBreak(2, js.oneLine)
		if js.nFinding > 0 {
			sep = "," + sep
		}
		_, err := js.findings.write([]byte(sep))
		if err == nil {
			var b []byte
			if b, err = js.encode(buildFinding(f)); err == nil {
				_, err = js.findings.write(b)
			}
		}
		if err != nil {
			js.err = fmt.Errorf("finding %s: %w", f.ID, err)
			return
		}
		js.nFinding++
	}
}

// Finish encodes a's findings, after those already taken, and writes the
// whole document to w, with a's inputs and statistics. a.Sessions is not
// read: the sessions are those handed to Session. Finish must come before
// Close.
func (js *JSONStream) Finish(w io.Writer, a *analyze.Analysis) error {
	if js.closed {
		return errors.New("JSON stream used after Close")
	}
	js.Findings(a.Findings)
	if js.err != nil {
		return js.err
	}
	doc := Build(&analyze.Analysis{Inputs: a.Inputs, Stats: a.Stats})
	jw := &jsonWriter{w: bufio.NewWriterSize(w, 64<<10), oneLine: js.oneLine}
	jw.raw("{")
	jw.field(1, "schema", doc.Schema)
	if js.status != nil {
		jw.field(1, "status", *js.status)
	}
	jw.field(1, "inputs", doc.Inputs)
	jw.field(1, "stats", doc.Stats)
	jw.key(1, "sessions")
	slices.SortStableFunc(js.index, func(a, b chunk) int { return a.id - b.id })
	if len(js.index) == 0 {
		jw.raw("[]")
	} else {
		jw.raw("[")
		for i, c := range js.index {
			if i > 0 {
				jw.raw(",")
			}
			jw.newline(2)
			jw.copy(js.sessions.section(c.off, c.n))
		}
		jw.newline(1)
		jw.raw("]")
	}
	jw.key(1, "findings")
	if js.nFinding == 0 {
		jw.raw("[]")
	} else {
		jw.raw("[")
		jw.copy(js.findings.section(0, js.findings.size))
		jw.newline(1)
		jw.raw("]")
	}
	if js.after != nil {
		js.after(jw)
	}
	jw.newline(0)
	jw.raw("}\n")
	if jw.err != nil {
		return jw.err
	}
	return jw.w.Flush()
}

// Close removes the temporary files, if any.
func (js *JSONStream) Close() error {
	js.closed = true
	return errors.Join(js.sessions.close(), js.findings.close())
}

// spool holds appended bytes in memory up to limit, then in a temporary
// file, and reads back any part of them. If the file cannot be made, or a
// write to it fails (a full disk), the spool carries on in memory: the
// report matters more than the bound.
type spool struct {
	limit int
	mem   []byte
	file  spoolFile
	size  int64
	// name is the file's, to remove at close where an open file cannot
	// be removed (Windows); "" once removed.
	name string
}

// spoolFile is what a spool needs of its temporary file.
type spoolFile interface {
	io.Writer
	io.ReaderAt
	io.Closer
}

// write appends b and returns where it begins.
func (sp *spool) write(b []byte) (int64, error) {
	off := sp.size
	if sp.file == nil && len(sp.mem)+len(b) > sp.limit {
		sp.spill()
	}
	if sp.file != nil {
		if _, err := sp.file.Write(b); err != nil {
			if err := sp.unspill(); err != nil {
				return 0, err
			}
		} else {
			sp.size += int64(len(b))
			return off, nil
		}
	}
	if len(sp.mem)+len(b) > cap(sp.mem) {
		// Double (append grows large slices by a quarter, which allocates
		// five times what it ends up holding).
		grown := make([]byte, len(sp.mem), max(2*cap(sp.mem), len(sp.mem)+len(b), 64<<10))
		copy(grown, sp.mem)
		sp.mem = grown
	}
	sp.mem = append(sp.mem, b...)
	sp.size += int64(len(b))
	return off, nil
}

// spill moves the spool to a temporary file, unlinked at once where the
// system allows it so that nothing is left behind even after a crash.
// Without a temporary file the spool stays in memory.
func (sp *spool) spill() {
	f, err := os.CreateTemp("", "ftpdiag-report-*.json")
	if err != nil {
		sp.limit = math.MaxInt
		return
	}
	if os.Remove(f.Name()) != nil {
		sp.name = f.Name()
	}
	sp.file = f
	if _, err := f.Write(sp.mem); err != nil {
		sp.close()
		sp.limit = math.MaxInt
		return
	}
	sp.mem = nil
}

// unspill moves the spool back to memory after a write to its file failed:
// what the file holds before the failed write is read back.
func (sp *spool) unspill() error {
	mem := make([]byte, sp.size, 2*sp.size)
	_, err := sp.file.ReadAt(mem, 0)
	sp.close()
	if err != nil {
		return fmt.Errorf("temporary file: %w", err)
	}
	sp.mem, sp.limit = mem, math.MaxInt
	return nil
}

// section returns n bytes from off.
func (sp *spool) section(off, n int64) io.Reader {
	if sp.file == nil {
		return bytes.NewReader(sp.mem[off : off+n])
	}
	return io.NewSectionReader(sp.file, off, n)
}

func (sp *spool) close() error {
	if sp.file == nil {
		return nil
	}
	err := sp.file.Close()
	if sp.name != "" {
		if rerr := os.Remove(sp.name); err == nil {
			err = rerr
		}
	}
	sp.file, sp.name = nil, ""
	return err
}
