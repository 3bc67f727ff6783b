package analyze

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"ftpdiag/pcap"
)

// Input is one capture to analyse: a file, or a stream already open.
type Input struct {
	// Name is the file to open, or, with Reader, the name that messages
	// and the report give the stream ("-" for standard input, say).
	Name string
	// Reader, if set, is read instead of opening Name. Run does not
	// close it.
	Reader io.Reader
}

// Files returns one Input per file name.
func Files(names ...string) []Input {
	in := make([]Input, len(names))
	for i, n := range names {
		in[i] = Input{Name: n}
	}
	return in
}

// ErrNothingRead is part of Run's error when no input could be read at
// all: none opened, or none held a packet of a link type the decoder
// understands (an empty but whole capture counts as read).
var ErrNothingRead = errors.New("no input could be read")

// Run analyses the inputs as one capture: it opens each (pcap or pcapng,
// gzip-compressed or not, recognised by content), merges their packets in
// time order, and analyses them as Packets does. It stops early when ctx
// is done and reports what was read until then.
//
// The Analysis is never nil and always holds everything that could be
// read: Analysis.Inputs has one pcap.Info per input, in the order given,
// with its warnings and whether it was read to its end. The error, when
// not nil, joins one error per problem (an input that did not open, a
// damaged input, with its name, record and offset, a link type whose
// packets were not analysed, an interruption); it wraps ErrNothingRead
// when nothing could be read at all, and ctx's error when interrupted.
func Run(ctx context.Context, inputs []Input, opt Options) (*Analysis, error) {
	op := openAll(ctx, inputs, opt.ReadAhead)
	defer op.close()
	var errs []error
	errs = append(errs, op.errs...)
	a := &Analysis{}
	if len(op.readers) > 0 {
		keys, err := watchSecrets(opt.Tracker.KeyLog, op.readers)
		if err != nil {
			errs = append(errs, err)
		}
		opt.Tracker.KeyLog = keys.keys
		m := pcap.NewMerger(op.readers...)
		if opt.Progress != nil {
			opt.Progress = op.progress(opt.Progress)
		}
		a, err = Packets(ctx, m, opt)
		if err != nil {
			errs = append(errs, err)
		}
		damage := m.Errors()
		errs = append(errs, damage...)
		a.addDamage(damage)
		read := m.Infos()
		for i, j := 0, 0; i < len(op.infos); i++ {
			if op.opened[i] {
				op.infos[i], read = read[0], read[1:]
				op.infos[i].Warnings = append(op.infos[i].Warnings, keys.warnings[j]...)
				j++
				errs = append(errs, checkLinkTypes(&op.infos[i])...)
			}
		}
	}
	a.Inputs = op.infos
	if readAnything(op.infos, op.opened) {
		a.addDamage(op.errs)
	} else {
		errs = append(errs, ErrNothingRead)
	}
	return a, errors.Join(errs...)
}

// Reopen opens each input again from its start, for a second pass over
// the packets (evidence and annotated captures): a file is opened anew,
// a Reader must be an io.Seeker and is rewound. On an error it returns the
// readers opened so far, for the caller to close.
func Reopen(inputs []Input) ([]*pcap.Reader, error) {
	var readers []*pcap.Reader
	for _, in := range inputs {
		r, err := reopenOne(in)
		if err != nil {
			return readers, err
		}
		readers = append(readers, r)
	}
	return readers, nil
}

func reopenOne(in Input) (*pcap.Reader, error) {
	if in.Reader == nil {
		return pcap.OpenSequential(in.Name)
	}
	s, ok := in.Reader.(io.Seeker)
	if !ok {
		return nil, fmt.Errorf("%s: a second pass reads the input again, so it must be a file, not a stream", in.Name)
	}
	if _, err := s.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("%s: %w", in.Name, err)
	}
	return pcap.NewReader(in.Reader, in.Name)
}

// DamagedBefore reports whether err, met reading inputs a second time
// (evidence or annotated captures, see Reopen), is damage the analysis
// already found: a *pcap.FormatError naming an input that read, the
// Analysis.Inputs of the first pass, says was not read to its end. The
// second pass stops there as the first did, and the damage was reported
// then (a capture_damaged finding); damage the first pass did not meet
// (a file changed in between) is news.
func DamagedBefore(err error, read []pcap.Info) bool {
	var fe *pcap.FormatError
	if !errors.As(err, &fe) {
		return false
	}
	for _, in := range read {
		if in.Name == fe.File && !in.Complete {
			return true
		}
	}
	return false
}

// KindCaptureDamaged is the finding about an input that could not be read
// to its end, or not at all, while others were.
const KindCaptureDamaged = "capture_damaged"

// addDamage reports each input that could not be read to its end (or at
// all) as a finding, so that a capture cut after a few packets does not
// look clean: whatever followed the damage is unknown.
func (a *Analysis) addDamage(errs []error) {
	for _, err := range errs {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			continue // interrupted, not damaged: the caller knows
		}
		a.nextFinding++
		ev := newEvidence(map[string]any{"error": err.Error()})
		f := Finding{
			ID: fmt.Sprintf("F%d", a.nextFinding), Kind: KindCaptureDamaged, Severity: Warning,
			Explanation: "Reading stopped at this damage: packets after it, and the FTP dialogue and data connections they carried, are not in the analysis. A session that seems to stop there, or a transfer without its end, may have gone on normally; none of the findings can speak for that part of the traffic.",
			Remediation: "Check how the file was made and copied: a capture cut short (tcpdump stopped without flushing, a disk that filled up, an upload cut off) or damaged in transit. Capture again, or ask for the complete file; with tcpdump, stop it with SIGINT so it flushes, or write with -U.",
		}
		var fe *pcap.FormatError
		if errors.As(err, &fe) {
			f.Summary = fmt.Sprintf("%s could not be read to its end: %s", fe.File, strings.TrimPrefix(err.Error(), fe.File+": "))
			ev.damage(fe)
		} else {
			f.Summary = "an input could not be read: " + err.Error()
		}
		ev.fill(&f)
		a.Findings = append(a.Findings, f)
	}
}

// opened are the inputs of one Run: the readers of those that opened, and
// for every input, in the order given, what reading it found.
type opened struct {
	readers []*pcap.Reader
	infos   []pcap.Info
	opened  []bool
	size    int64 // bytes of all files, for progress
	errs    []error
}

func openAll(ctx context.Context, inputs []Input, readAhead bool) *opened {
	op := &opened{infos: make([]pcap.Info, len(inputs)), opened: make([]bool, len(inputs))}
	for i, in := range inputs {
		r, size, err := openInput(ctx, in, readAhead)
		if err != nil {
			op.errs = append(op.errs, err)
			op.infos[i] = pcap.Info{Name: in.Name, Warnings: []string{trimName(err, in.Name)}}
			continue
		}
		op.readers = append(op.readers, r)
		op.opened[i] = true
		op.size += size
	}
	return op
}

// trimName drops the file name that begins an error's text: the input's
// warnings already belong to the file.
func trimName(err error, name string) string {
	s := err.Error()
	if len(s) > len(name)+2 && s[:len(name)+2] == name+": " {
		return s[len(name)+2:]
	}
	return s
}

func (op *opened) close() {
	for _, r := range op.readers {
		r.Close()
	}
}

// progress adds the bytes read to what report gets.
func (op *opened) progress(report func(Progress)) func(Progress) {
	return func(p Progress) {
		for _, r := range op.readers {
			p.BytesRead += r.Consumed()
		}
		p.BytesTotal = op.size
		report(p)
	}
}

// openInput opens one input and returns its size (0 when unknown).
// Reading stops once ctx is done, even while the input is idle or holds
// no packets.
func openInput(ctx context.Context, in Input, readAhead bool) (*pcap.Reader, int64, error) {
	if in.Reader != nil {
		r, err := pcap.NewReaderContext(ctx, in.Reader, in.Name)
		return r, 0, err
	}
	st, err := os.Stat(in.Name)
	if err != nil {
		return nil, 0, err
	}
	if st.IsDir() {
		return nil, 0, fmt.Errorf("%s: is a directory, not a capture file", in.Name)
	}
	r, err := pcap.OpenContext(ctx, in.Name, readAhead)
	return r, st.Size(), err
}

// readAnything reports whether at least one input could be read: a whole
// capture (even an empty one), or packets before damage, of a link type
// the decoder understands.
func readAnything(infos []pcap.Info, opened []bool) bool {
	for i, in := range infos {
		if !opened[i] || !(in.Complete || in.Packets > 0) {
			continue
		}
		if len(in.LinkTypes) == 0 {
			return true
		}
		for _, lt := range in.LinkTypes {
			if pcap.SupportedLinkType(lt) {
				return true
			}
		}
	}
	return false
}

// checkLinkTypes warns of link types the decoder does not understand:
// their packets were counted but not analysed.
func checkLinkTypes(in *pcap.Info) []error {
	var errs []error
	for _, lt := range in.LinkTypes {
		if pcap.SupportedLinkType(lt) {
			continue
		}
		msg := fmt.Sprintf("unsupported link type %d (%s): its packets were not analysed", int(lt), lt)
		in.Warnings = append(in.Warnings, msg)
		errs = append(errs, fmt.Errorf("%s: %s", in.Name, msg))
	}
	return errs
}
