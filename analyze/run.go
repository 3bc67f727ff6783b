package analyze

import (
	"errors"
	"io"
	"slices"
	"time"

	"ftpdiag/ftpflow"
	"ftpdiag/pcap"
)

// packetSource is what Run reads: a *pcap.Reader or a *pcap.Merger.
type packetSource interface {
	Next() (*pcap.Packet, error)
}

// Options tunes an analysis. The zero value uses the defaults.
type Options struct {
	// Tracker bounds the connection tracker. Its Sink is ignored: the
	// analysis is the tracker's sink (see Sessions).
	Tracker ftpflow.Config
	// TimeWait is the 2*MSL used to judge 5-tuple reuse (default 240 s).
	TimeWait time.Duration
	// Progress, if set, is called every so many packets with the number
	// of packets read so far, from the goroutine that reads the source.
	Progress func(packets int)
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
}

// Analysis is the outcome of reading a capture: the FTP sessions with their
// transfers and the findings drawn from them. Findings are numbered in the
// order they are drawn: session by session as each one's analysis becomes
// final, then those about the whole capture.
type Analysis struct {
	// Sessions lists the sessions by ID (empty with Options.Sessions).
	Sessions []*ftpflow.Session
	Stats    ftpflow.Stats
	// First and Last are the first and last capture timestamps.
	First, Last time.Time
	Findings    []Finding
}

// progressEvery is how many packets pass between Progress calls.
const progressEvery = 1 << 16

// Run reads every packet of src, tracks connections and sessions, and
// applies the rules. It stops at the first error other than io.EOF and
// returns the analysis of everything read before it with that error.
func Run(src packetSource, opt Options) (*Analysis, error) {
	if opt.TimeWait <= 0 {
		opt.TimeWait = ftpflow.DefaultTimeWait
	}
	if opt.Tracker.TimeWait <= 0 {
		opt.Tracker.TimeWait = opt.TimeWait
	}
	a := &Analysis{}
	emit := opt.Sessions
	dropped := 0
	if emit == nil {
		limit := opt.Tracker.MaxSessions
		if limit <= 0 {
			limit = ftpflow.DefaultMaxSessions
		}
		emit = func(s *ftpflow.Session, fs []Finding) {
			if len(a.Sessions) >= limit {
				dropped++
				return
			}
			a.Sessions = append(a.Sessions, s)
			a.Findings = append(a.Findings, fs...)
		}
	}
	d := newDiag(opt, emit)
	opt.Tracker.Sink = d
	d.tracker = ftpflow.NewTracker(opt.Tracker)
	err := d.track(src, opt.Progress)
	if errors.Is(err, io.EOF) {
		err = nil
	}
	res := d.tracker.Finish()
	a.Stats, a.First, a.Last = res.Stats, res.First, res.Last
	a.Stats.DroppedSessions += dropped
	slices.SortFunc(a.Sessions, func(x, y *ftpflow.Session) int { return x.ID - y.ID })
	a.Findings = append(a.Findings, d.finish()...)
	return a, err
}

// pruneEvery is how many packets pass between prunings of the
// cross-session records.
const pruneEvery = 1 << 16

// track reads, decodes and tracks every packet.
func (d *diag) track(src packetSource, progress func(int)) error {
	dec := pcap.NewDecoder()
	for n := 1; ; n++ {
		p, err := src.Next()
		if err != nil {
			return err
		}
		d.tracker.Packet(p, dec.Decode(p))
		if n%pruneEvery == 0 && d.settledSince > 0 {
			d.prune(p.Timestamp)
		}
		if progress != nil && n%progressEvery == 0 {
			progress(n)
		}
	}
}
