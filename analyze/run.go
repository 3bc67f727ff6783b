package analyze

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"ftpdiag/ftpflow"
	"ftpdiag/pcap"
)

// PacketSource is what Packets reads: a *pcap.Reader, a *pcap.Merger, or
// anything else that returns packets in time order and io.EOF at the end.
type PacketSource interface {
	Next() (*pcap.Packet, error)
}

// Options tunes an analysis. The zero value uses the defaults.
type Options struct {
	// Tracker bounds the connection tracker. Its Sink is ignored: the
	// analysis is the tracker's sink (see Sessions). Its TimeWait, the
	// 2*MSL after which a closed connection's 5-tuple may be reused
	// (default ftpflow.DefaultTimeWait, 240 s), is the one both the tracker
	// and the rules that judge reuse go by.
	Tracker ftpflow.Config
	// TimeWait is the older place of Tracker.TimeWait, used only when that
	// is zero. Set Tracker.TimeWait instead; this field goes once no
	// caller sets it.
	TimeWait time.Duration
	// ReadAhead, in Run, decompresses each gzip-compressed file on a
	// goroutine of its own ahead of the analysis (pcap.OpenContext with
	// readAhead). The analysis is the same either way.
	ReadAhead bool
	// Progress, if set, is called every so many packets from the goroutine
	// that reads the captures.
	Progress func(Progress)
	// Sessions, if set, receives each FTP session with the findings about
	// it as soon as the analysis of it is final, while the capture is
	// still read, in place of Analysis.Sessions; Analysis.Findings then
	// holds only the findings drawn at the end from the whole capture.
	// The session and its findings are not kept afterwards, so memory
	// follows the sessions open at once, not the length of the capture.
	// Without it, Analysis keeps at most Tracker.MaxSessions sessions:
	// those handed on later are counted in Stats.DroppedSessions, and
	// their findings dropped with them.
	Sessions func(s *ftpflow.Session, findings []Finding)

	// input is the index the packets of a lone input carry when it is one
	// view among several (RunView); 0 otherwise.
	input int
}

// timeWait is the TIME-WAIT the analysis goes by: Tracker.TimeWait, else
// the older TimeWait, else the default.
func (o Options) timeWait() time.Duration {
	switch {
	case o.Tracker.TimeWait > 0:
		return o.Tracker.TimeWait
	case o.TimeWait > 0:
		return o.TimeWait
	}
	return ftpflow.DefaultTimeWait
}

// Progress is how far an analysis has read.
type Progress struct {
	// Packets counts the packets read so far.
	Packets int
	// BytesRead and BytesTotal count the bytes of the input files read so
	// far and in all (of the compressed files, for gzip). Run fills them;
	// BytesTotal is 0 when a size is unknown (an input read from an
	// io.Reader). Packets leaves both 0.
	BytesRead, BytesTotal int64
}

// Analysis is the outcome of reading a capture: what was read of each
// input, the FTP sessions with their transfers and the findings drawn from
// them. Findings are numbered in the order they are drawn: session by
// session as each one's analysis becomes final, then those about the whole
// capture.
type Analysis struct {
	// Inputs says, for each input of Run in the order given, its format,
	// link types, packet count, warnings and whether it was read to its
	// end. Packets leaves it empty.
	Inputs []pcap.Info
	// Sessions lists the sessions by ID (empty with Options.Sessions).
	Sessions []*ftpflow.Session
	Stats    ftpflow.Stats
	// First and Last are the first and last capture timestamps.
	First, Last time.Time
	Findings    []Finding
	// Views, in an analysis of several views of the same traffic joined
	// into one (correlate.Join), says how each input saw each session, by
	// session ID: the session shown first, then the other views' sessions
	// folded into it. Nil for an analysis of one view or of merged inputs.
	Views map[int][]SessionView

	// nextFinding is the number of the last finding drawn.
	nextFinding int
}

// progressEvery is how many packets pass between Progress calls.
const progressEvery = 1 << 16

// Packets reads every packet of src, tracks connections and sessions, and
// applies the rules. It stops at the first error other than io.EOF, or
// when ctx is done, and returns the analysis of everything read before it
// with that error. Most programs call Run, which opens the files.
func Packets(ctx context.Context, src PacketSource, opt Options) (*Analysis, error) {
	opt.Tracker.TimeWait = opt.timeWait()
	opt.TimeWait = opt.Tracker.TimeWait // what the rules read
	if opt.input > 0 {
		src = viewSource{src: src, input: opt.input}
	}
	a := &Analysis{}
	emit := opt.Sessions
	dropped := 0
	var hidden hiddenFindings
	if emit == nil {
		limit := opt.Tracker.MaxSessions
		if limit <= 0 {
			limit = ftpflow.DefaultMaxSessions
		}
		emit = func(s *ftpflow.Session, fs []Finding) {
			if len(a.Sessions) >= limit {
				dropped++
				hidden.add(s, fs)
				return
			}
			a.Sessions = append(a.Sessions, s)
			a.Findings = append(a.Findings, fs...)
		}
	}
	d := newDiag(opt, emit)
	opt.Tracker.Sink = d
	d.tracker = ftpflow.NewTracker(opt.Tracker)
	err := d.track(ctx, src, opt.Progress)
	if errors.Is(err, io.EOF) {
		err = nil
	}
	res := d.tracker.Finish()
	a.Stats, a.First, a.Last = res.Stats, res.First, res.Last
	a.Stats.DroppedSessions += dropped
	slices.SortFunc(a.Sessions, func(x, y *ftpflow.Session) int { return x.ID - y.ID })
	a.Findings = append(a.Findings, d.finish()...)
	a.Findings = append(a.Findings, d.boundsFindings(&hidden)...)
	a.nextFinding = d.nextID
	return a, err
}

// pruneEvery is how many packets pass between prunings of the
// cross-session records.
const pruneEvery = 1 << 16

// contextCheckEvery is how many packets pass between cancellation checks.
const contextCheckEvery = 4096

// track reads, decodes and tracks every packet.
func (d *diag) track(ctx context.Context, src PacketSource, progress func(Progress)) error {
	dec := pcap.NewDecoder()
	for n := 1; ; n++ {
		if n%contextCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("interrupted after %d packets; reporting what was read: %w", n-1, err)
			}
		}
		p, err := src.Next()
		if err != nil {
			return err
		}
		d.tracker.Packet(p, dec.Decode(p))
		if n%pruneEvery == 0 && d.settledSince > 0 {
			d.prune(p.Timestamp)
		}
		if progress != nil && n%progressEvery == 0 {
			progress(Progress{Packets: n})
		}
	}
}
