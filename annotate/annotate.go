package annotate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"ftpdiag/analyze"
	"ftpdiag/pcap"
)

// Options changes what the annotated capture says.
type Options struct {
	// Lesson adds, on the key frames of every session, the teaching notes
	// of the ladder diagrams (ftpdiag --explain): the greeting, the login,
	// each announcement with its port decoded, the data connection's SYN,
	// 150, 226/425/426, the closes. The notes of the control dialogue need
	// an analysis made with ftpflow.Config.KeepLog.
	Lesson bool
	// ShowPasswords keeps PASS arguments in the comments; by default they
	// are masked. The packets themselves are written as captured.
	ShowPasswords bool
	// Version names the ftpdiag version in the section header.
	Version string
}

// Result says what Write wrote.
type Result struct {
	// Packets counts the packets written.
	Packets int
	// Commented counts the packets that carry comments of ours.
	Commented int
}

// Bounds on the comments of one packet, so that the annotated capture
// stays readable by ftpdiag itself (pcap's packet block limit) and by
// people.
const (
	// maxCommentBytes bounds the comments of one packet, its own and ours.
	maxCommentBytes = 48 << 10
	// maxListed bounds the findings listed in the section header.
	maxListed = 200
	// maxInputComments bounds the inputs' section header comments copied
	// into the section header, in bytes (all inputs together).
	maxInputComments = 64 << 10
	// checkEvery is how many packets pass between cancellation checks.
	checkEvery = 4096
)

// Write reads the inputs again and writes them to w as one pcapng file:
// every packet the analysis read, in the order it read them (merged in
// time order), with its bytes, lengths, link type and timestamp as
// captured (each input interface becomes an interface of the output, at
// its own timestamp resolution) and its own comments first, then ours:
//
//   - on every frame a finding cites, "F1 ERROR kind: summary" and the
//     role the frame plays ("F1: SYN 3 of 7 from ... to ..., unanswered");
//   - with Options.Lesson, the ladder diagram's notes on the key frames of
//     every session;
//   - when the output numbers a frame differently from its input (several
//     inputs, or skipped records), where it comes from: "ftpdiag: frame 71
//     of capture.pcap";
//   - in the section header, after the comments of the inputs' own
//     section headers (each prefixed with its input's name when there are
//     several), the ftpdiag version (Options.Version), the analysis in
//     short and every finding.
//
// inputs are those given to analyze.Run, in the same order, and a is what
// Run returned for them: the inputs that did not open then are left out
// (a.Inputs says which), so that packets are numbered as the analysis
// numbered them. An input given as a Reader must be an io.Seeker: it is
// read again from its start. An input the analysis found damaged is
// written up to the damage, as the analysis read it.
//
// The error joins every problem: an input that cannot be read again or
// is damaged where it was not before, a failed write. What was written
// before it is a valid capture as far as it goes (once flushed).
func Write(ctx context.Context, inputs []analyze.Input, a *analyze.Analysis, w io.Writer, opt Options) (Result, error) {
	var res Result
	used, _ := opened(inputs, a)
	readers, err := analyze.Reopen(used)
	defer func() {
		for _, r := range readers {
			r.Close()
		}
	}()
	if err != nil {
		return res, err
	}
	names := make([]string, len(used))
	for i, in := range used {
		names[i] = in.Name
	}
	notes := collect(a, opt)
	nw, err := pcap.NewNgWriter(w, pcap.SectionHeader{
		Comments:    append(inputComments(readers, names), sectionComments(a, names, opt.Version)...),
		Application: strings.TrimSpace("ftpdiag " + opt.Version),
	})
	if err != nil {
		return res, fmt.Errorf("annotated capture: %w", err)
	}
	m := pcap.NewMerger(readers...)
	type ifaceKey struct{ input, iface int }
	ids := map[ifaceKey]int{}
	for {
		if res.Packets%checkEvery == checkEvery-1 {
			if err := ctx.Err(); err != nil {
				return res, errors.Join(fmt.Errorf("annotated capture interrupted: %w", err), nw.Flush())
			}
		}
		p, err := m.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return res, err
		}
		key := ifaceKey{p.Input, p.Interface}
		id, ok := ids[key]
		if !ok {
			if id, err = nw.AddInterface(readers[p.Input].Interface(p.Interface)); err != nil {
				return res, err
			}
			ids[key] = id
		}
		res.Packets++
		ours := notes.at(p.Input, p.Frame, p.Timestamp)
		if len(ours) > 0 {
			res.Commented++
			if len(readers) > 1 || p.Frame != res.Packets {
				ours = append(ours, fmt.Sprintf("ftpdiag: frame %d of %s", p.Frame, names[p.Input]))
			}
		}
		if err := nw.WritePacket(id, p.Timestamp, p.Data, p.OriginalLength, fit(p.Comments, ours)...); err != nil {
			return res, err
		}
	}
	errs := []error{nw.Flush()}
	for _, err := range m.Errors() {
		if !analyze.DamagedBefore(err, a.Inputs) {
			errs = append(errs, err)
		}
	}
	return res, errors.Join(errs...)
}

// inputComments returns the comments of the inputs' section headers, as
// their readers have read them on opening (a pcapng file's first
// section), in the order of the inputs, each prefixed with its input's
// name when there are several; those beyond maxInputComments bytes in
// all are left out, and a last comment says how many.
func inputComments(readers []*pcap.Reader, names []string) []string {
	var out []string
	budget, left := maxInputComments, 0
	for i, r := range readers {
		for _, c := range r.SectionComments() {
			if len(readers) > 1 {
				c = names[i] + ": " + c
			}
			if len(c) > budget {
				left++
				continue
			}
			budget -= len(c)
			out = append(out, c)
		}
	}
	if left > 0 {
		out = append(out, fmt.Sprintf("ftpdiag: %d more comments of the inputs' section headers left out", left))
	}
	return out
}

// opened returns the inputs the analysis read (those that opened), and
// whether it read each to its end.
func opened(inputs []analyze.Input, a *analyze.Analysis) (used []analyze.Input, complete []bool) {
	if len(a.Inputs) != len(inputs) {
		used = inputs
		complete = make([]bool, len(inputs))
		for i := range complete {
			complete[i] = true
		}
		return used, complete
	}
	for i, in := range inputs {
		if a.Inputs[i].Format == pcap.FormatUnknown {
			continue // did not open: not among the analysis' inputs
		}
		used = append(used, in)
		complete = append(complete, a.Inputs[i].Complete)
	}
	return used, complete
}

// fit returns a packet's own comments followed by ours, ours cut so that
// all of them stay within maxCommentBytes, with a last comment saying how
// many were left out.
func fit(own, ours []string) []string {
	if len(ours) == 0 {
		return own
	}
	budget := maxCommentBytes
	for _, c := range own {
		budget -= len(c) + 8
	}
	out := append([]string(nil), own...)
	for i, c := range ours {
		c = strings.ToValidUTF8(c, "\uFFFD")
		if len(c)+8 > budget-64 {
			return append(out, fmt.Sprintf("ftpdiag: %d more comments left out", len(ours)-i))
		}
		budget -= len(c) + 8
		out = append(out, c)
	}
	return out
}
