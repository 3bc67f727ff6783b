package worker

import (
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"

	"ftpdiag/analyze"
	"ftpdiag/ftpflow"
	"ftpdiag/report"
	"ftpdiag/service/store"
)

// Options returns the analysis options the service uses: the CLI's
// defaults, with the control dialogue kept for the HTML report and the
// ladders of the explained text report. The JSON report is the same as
// the CLI's --format json.
func Options() analyze.Options {
	return analyze.Options{
		Tracker: ftpflow.Config{
			MaxConns: ftpflow.DefaultMaxConns, MaxSessions: ftpflow.DefaultMaxSessions,
			TimeWait: ftpflow.DefaultTimeWait, KeepLog: true,
		},
	}
}

// Timeline is the ladder setting of every report the service writes:
// passwords masked, long runs of transfers folded, as the CLI's default.
func Timeline() report.TimelineOptions {
	return report.TimelineOptions{Fold: report.DefaultFold}
}

// ErrTooLarge is what a capture's reader returns once the capture,
// decompressed, exceeds the bound on capture bytes.
var ErrTooLarge = errors.New("capture exceeds the bound on decompressed bytes")

// Budget counts the decompressed bytes of one analysis's inputs against
// a bound and the compressed bytes read for progress.
type Budget struct {
	limit    int64
	used     atomic.Int64
	read     atomic.Int64
	exceeded atomic.Bool
}

// NewBudget returns a budget of limit decompressed bytes (0: no bound).
func NewBudget(limit int64) *Budget { return &Budget{limit: limit} }

// Exceeded reports whether the bound was crossed.
func (b *Budget) Exceeded() bool { return b.exceeded.Load() }

// Read returns the bytes read so far (as stored: compressed for gzip).
func (b *Budget) Read() int64 { return b.read.Load() }

func (b *Budget) add(n int) bool {
	if b.used.Add(int64(n)) > b.limit && b.limit > 0 {
		b.exceeded.Store(true)
		return false
	}
	return true
}

// guardBuffer is the read buffer in front of each stored capture: only
// for sniffing gzip; larger reads pass through it.
const guardBuffer = 4 << 10

// Guard wraps the stored capture r: it counts what is read, and the bytes
// it decompresses to, against the budget, and fails with ErrTooLarge as
// soon as the bound is crossed. A gzip stream is decompressed a second
// time, on a goroutine of its own, only to be counted: the capture reader
// that analyses it keeps reporting it as compressed, and a gzip bomb is
// stopped after at most one read's worth of output beyond the bound. Close
// stops that goroutine.
func (b *Budget) Guard(r io.Reader) io.ReadCloser {
	br := bufio.NewReaderSize(r, guardBuffer)
	g := &guard{r: br, b: b}
	if head, _ := br.Peek(2); len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
		pr, pw := io.Pipe()
		g.pw = pw
		g.done = make(chan struct{})
		go g.count(pr)
	}
	return g
}

type guard struct {
	r    io.Reader
	b    *Budget
	pw   *io.PipeWriter // feeds the counting decompressor (gzip only)
	done chan struct{}
	err  error
}

// count decompresses what the guard is fed and counts its bytes.
func (g *guard) count(pr *io.PipeReader) {
	defer close(g.done)
	zr, err := gzip.NewReader(pr)
	if err != nil {
		pr.CloseWithError(err) // damaged: the capture reader reports it
		return
	}
	buf := make([]byte, 64<<10)
	for {
		n, err := zr.Read(buf)
		if !g.b.add(n) {
			pr.CloseWithError(ErrTooLarge)
			return
		}
		if err != nil {
			pr.CloseWithError(err)
			return
		}
	}
}

func (g *guard) Read(p []byte) (int, error) {
	if g.err != nil {
		return 0, g.err
	}
	n, err := g.r.Read(p)
	g.b.read.Add(int64(n))
	if g.pw == nil {
		if !g.b.add(n) {
			g.err = ErrTooLarge
			return 0, g.err
		}
		return n, err
	}
	if n > 0 {
		if _, werr := g.pw.Write(p[:n]); werr != nil {
			if errors.Is(werr, ErrTooLarge) {
				g.err = ErrTooLarge
				return 0, g.err
			}
			g.stopCounting() // damaged gzip: the capture reader will say so
		}
	}
	if err == io.EOF && g.pw != nil {
		g.stopCounting()
		if g.b.Exceeded() {
			g.err = ErrTooLarge
			return n, g.err
		}
	}
	return n, err
}

// stopCounting ends the counting decompressor and waits for it.
func (g *guard) stopCounting() {
	if g.pw == nil {
		return
	}
	g.pw.Close()
	<-g.done
	g.pw = nil
}

func (g *guard) Close() error {
	if g.pw != nil {
		g.pw.CloseWithError(io.ErrClosedPipe)
		<-g.done
		g.pw = nil
	}
	return nil
}

// Captures opens a record's stored captures as analyze.Inputs named as
// uploaded, each behind the budget's guard. close closes them all.
func Captures(ctx context.Context, st *store.Store, files []store.File, b *Budget) (inputs []analyze.Input, closeAll func(), err error) {
	var closers []io.Closer
	closeAll = func() {
		for _, c := range closers {
			c.Close()
		}
	}
	for _, f := range files {
		rc, _, err := st.OpenCapture(ctx, f.Object)
		if err != nil {
			closeAll()
			return nil, func() {}, fmt.Errorf("%s: stored capture: %w", f.Name, err)
		}
		g := b.Guard(rc)
		closers = append(closers, g, rc)
		inputs = append(inputs, analyze.Input{Name: f.Name, Reader: g})
	}
	return inputs, closeAll, nil
}

// Summarize counts what an analysis found.
func Summarize(a *analyze.Analysis) *store.Summary {
	d := report.Build(a)
	s := &store.Summary{Sessions: len(d.Sessions), WorstSeverity: "none", FindingsByKind: map[string]int{}, Findings: len(d.Findings)}
	for _, ss := range d.Sessions {
		s.Transfers += ss.Counts.Transfers
		s.TransfersFailed += ss.Counts.Failed
	}
	sorted := report.SortFindings(d.Findings)
	if len(sorted) > 0 {
		s.WorstSeverity = sorted[0].Severity
	}
	for i, f := range sorted {
		s.FindingsByKind[f.Kind]++
		if i < store.MaxTopFindings {
			s.TopFindings = append(s.TopFindings, store.TopFinding{ID: f.ID, Kind: f.Kind, Severity: f.Severity, Session: f.Session, Summary: f.Summary})
		}
	}
	return s
}
