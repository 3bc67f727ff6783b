package analyze

import (
	"errors"
	"io"
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
	// Tracker bounds the connection tracker.
	Tracker ftpflow.Config
	// TimeWait is the 2*MSL used to judge 5-tuple reuse (default 240 s).
	TimeWait time.Duration
	// Progress, if set, is called every so many packets with the number
	// of packets read so far, from the goroutine that reads the source.
	Progress func(packets int)
}

// Analysis is the outcome of reading a capture: the FTP sessions with their
// transfers and the findings drawn from them.
type Analysis struct {
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
	tr := ftpflow.NewTracker(opt.Tracker)
	err := track(src, tr, opt.Progress)
	if errors.Is(err, io.EOF) {
		err = nil
	}
	res := tr.Finish()
	a := &Analysis{Sessions: res.Sessions, Stats: res.Stats, First: res.First, Last: res.Last}
	a.Findings = diagnose(a, opt)
	return a, err
}

// track reads, decodes and tracks every packet.
func track(src packetSource, tr *ftpflow.Tracker, progress func(int)) error {
	dec := pcap.NewDecoder()
	for n := 1; ; n++ {
		p, err := src.Next()
		if err != nil {
			return err
		}
		tr.Packet(p, dec.Decode(p))
		if progress != nil && n%progressEvery == 0 {
			progress(n)
		}
	}
}
