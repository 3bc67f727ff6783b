package correlate

import (
	"cmp"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// Bounds on the traces kept for the ladders.
const (
	// MaxTraceSteps is the number of trace steps a Pair keeps, over all
	// its connections: control connections first, then the others in A's
	// order, then the lone ones. Packets beyond it are counted in
	// TraceOmitted.
	MaxTraceSteps = 1 << 16
	// MaxTraceText is the longest payload text a trace step keeps (the
	// first line of an FTP command or reply).
	MaxTraceText = 120
)

// TCP flags as TraceStep.Flags holds them.
const (
	FlagFIN = flagFIN
	FlagSYN = flagSYN
	FlagRST = flagRST
	FlagACK = flagACK
)

// TraceStep is one packet of a connection as the two files of a pair saw
// it, or a run of like packets: consecutive SYNs, or data segments
// without text, of the same direction and fate. Pure acknowledgements
// seen in both files are left out (they tell nothing a ladder shows).
type TraceStep struct {
	// FromServer is true for a packet from the connection's server end,
	// false for one from its client end (Endpoints.Client).
	FromServer bool
	// InA and InB say which files of the pair saw it.
	InA, InB bool
	// Kind says what a packet seen in one file only means, as a Loss of
	// that kind does; Counted is false when it was seen while the other
	// file was not capturing (no Loss lists it). Both are meaningless for
	// a packet seen in both files.
	Kind    LossKind
	Counted bool
	// Rewritten is true when the payload differs between the two files.
	Rewritten bool
	// Flags are the TCP flags (FlagSYN...) of the first packet.
	Flags uint8
	// Packets counts the packets the step stands for; Bytes sums their
	// payload (as A shows it, when seen there).
	Packets, Bytes int
	// FrameA and FrameB are the first packet's frame in each file (0 when
	// not seen there), LastFrameA and LastFrameB the last packet's.
	FrameA, FrameB, LastFrameA, LastFrameB int
	// TimeA and TimeB are the first packet's time in each file, on that
	// file's clock; LastA and LastB the last packet's.
	TimeA, TimeB, LastA, LastB time.Time
	// TextA and TextB are the payload's first line as each file shows it
	// (control connections only; "" when not text or not kept), cut to
	// MaxTraceText bytes.
	TextA, TextB string
}

// Seen tells, for a step seen in one file only, the time and frame there
// (on that file's clock) and whether it was A.
func (s TraceStep) Seen() (t time.Time, frame int, inA bool) {
	if s.InA {
		return s.TimeA, s.FrameA, true
	}
	return s.TimeB, s.FrameB, false
}

// notCounted marks a packet seen outside the time both files were
// capturing.
const notCounted LossKind = 255

// lossKinds returns the kind of each packet idx of ps seen in file seen
// only (notCounted outside the window), as losses groups them: a run of
// data segments whose smallest is larger than every segment that passed
// (largest) and full-size is LostFullSize.
func lossKinds(ps []pkt, idx []int32, seen, largest int, made bool, win span) []LossKind {
	kinds := make([]LossKind, len(idx))
	start, smallest := -1, 0
	flush := func(end int) {
		if start >= 0 && smallest > largest && smallest >= minFullSize {
			for j := start; j < end; j++ {
				if kinds[j] == LostData {
					kinds[j] = LostFullSize
				}
			}
		}
		start = -1
	}
	prev := notCounted
	for j, i := range idx {
		p := &ps[i]
		if !win.in(seen, p.t) {
			kinds[j] = notCounted
			continue
		}
		k := lossKind(p, made)
		kinds[j] = k
		if k != prev {
			flush(j)
			if k == LostData {
				start, smallest = j, int(p.plen)
			}
		}
		if k == LostData {
			smallest = min(smallest, int(p.plen))
		}
		prev = k
	}
	flush(len(idx))
	return kinds
}

// unplacedKinds are the kinds of packets whose sender's side is unknown.
func unplacedKinds(ps []pkt, idx []int32, seen int, win span) []LossKind {
	kinds := make([]LossKind, len(idx))
	for j, i := range idx {
		kinds[j] = Unplaced
		if !win.in(seen, ps[i].t) {
			kinds[j] = notCounted
		}
	}
	return kinds
}

// tracer builds the traces of one pair within MaxTraceSteps.
type tracer struct {
	fx, fy *fileView
	off    int64 // y's clock minus x's, nanoseconds
	left   int
}

// traced is a trace step with its time on x's clock, for ordering.
type traced struct {
	at  int64
	key int // tie-break: direction, then capture order
	TraceStep
}

// addTraces fills the traces of a pair's matched connections (matches, in
// the order of p.Conns) and lone ones (lones, in the order of p.Lone):
// control connections first, while the budget lasts.
func addTraces(p *Pair, matches []*cmatch, lones []loneRef, fx, fy *fileView, win span) {
	tr := &tracer{fx: fx, fy: fy, off: win.off, left: MaxTraceSteps}
	for _, control := range []bool{true, false} {
		for i, m := range matches {
			if p.Conns[i].Control == control {
				p.Conns[i].Trace, p.Conns[i].TraceOmitted = tr.matched(m, win)
			}
		}
	}
	for i, l := range lones {
		p.Lone[i].Trace, p.Lone[i].TraceOmitted = tr.lone(l, win)
	}
}

// loneRef is a connection seen in one file only, as lone read it.
type loneRef struct {
	c *conn
	f int // 0: x, 1: y
	// side places the hosts of f's file: 1 on x's side, -1 on y's.
	side map[netip.Addr]int8
}

// matched traces a connection seen in both files.
func (tr *tracer) matched(m *cmatch, win span) ([]TraceStep, int) {
	control := m.x.control || m.y.control
	var all []traced
	for d := range 2 {
		xs, ys := m.x.pkts[d], m.y.pkts[m.ydir(d)]
		largest := 0
		for _, pr := range m.pairs[d] {
			largest = max(largest, int(xs[pr[0]].plen))
			a, b := &xs[pr[0]], &ys[pr[1]]
			st := traced{at: a.t, key: d<<30 | int(pr[0]), TraceStep: TraceStep{FromServer: d == 1, InA: true, InB: true,
				Rewritten: (a.plen > 0 || b.plen > 0) && (a.plen != b.plen || a.hash != b.hash)}}
			st.first(a, tr.fx, control, true)
			st.first(b, tr.fy, control, false)
			all = append(all, st)
		}
		var kx, ky []LossKind
		switch m.upX[d] {
		case 1:
			kx, ky = lossKinds(xs, m.unX[d], 0, largest, false, win), lossKinds(ys, m.unY[d], 1, largest, true, win)
		case -1:
			kx, ky = lossKinds(xs, m.unX[d], 0, largest, true, win), lossKinds(ys, m.unY[d], 1, largest, false, win)
		default:
			kx, ky = unplacedKinds(xs, m.unX[d], 0, win), unplacedKinds(ys, m.unY[d], 1, win)
		}
		all = append(all, tr.only(xs, m.unX[d], kx, d, true, control)...)
		all = append(all, tr.only(ys, m.unY[d], ky, d, false, control)...)
	}
	return tr.fold(all)
}

// only makes the steps of packets seen in one file only: x's (inA) or
// y's, direction d of x.
func (tr *tracer) only(ps []pkt, idx []int32, kinds []LossKind, d int, inA, control bool) []traced {
	out := make([]traced, 0, len(idx))
	fv := tr.fx
	if !inA {
		fv = tr.fy
	}
	for j, i := range idx {
		p := &ps[i]
		st := traced{at: p.t, key: d<<30 | int(i), TraceStep: TraceStep{FromServer: d == 1, InA: inA, InB: !inA,
			Kind: kinds[j], Counted: kinds[j] != notCounted}}
		if !inA {
			st.at -= tr.off
		}
		if !st.Counted {
			st.Kind = Unplaced
		}
		st.first(p, fv, control, inA)
		out = append(out, st)
	}
	return out
}

// lone traces a connection seen in file l.f only.
func (tr *tracer) lone(l loneRef, win span) ([]TraceStep, int) {
	var all []traced
	for d := range 2 {
		ps := l.c.pkts[d]
		idx := make([]int32, len(ps))
		for i := range idx {
			idx[i] = int32(i)
		}
		mine := int8(1)
		if l.f == 1 {
			mine = -1
		}
		var kinds []LossKind
		switch sideOf(l.side, l.c.sender(d).Addr()) {
		case mine:
			kinds = lossKinds(ps, idx, l.f, 0, false, win)
		case -mine:
			kinds = lossKinds(ps, idx, l.f, 0, true, win)
		default:
			kinds = unplacedKinds(ps, idx, l.f, win)
		}
		all = append(all, tr.only(ps, idx, kinds, d, l.f == 0, l.c.control)...)
	}
	return tr.fold(all)
}

// first records packet p as the step's first, in file A (inA) or B.
func (st *traced) first(p *pkt, fv *fileView, control, inA bool) {
	t := time.Unix(0, p.t)
	text := ""
	if control {
		text = firstTextLine(fv.text(p))
	}
	if inA {
		st.FrameA, st.LastFrameA, st.TimeA, st.LastA, st.TextA = int(p.frame), int(p.frame), t, t, text
		st.Flags, st.Bytes = p.flags, int(p.plen)
	} else {
		st.FrameB, st.LastFrameB, st.TimeB, st.LastB, st.TextB = int(p.frame), int(p.frame), t, t, text
		if !st.InA {
			st.Flags, st.Bytes = p.flags, int(p.plen)
		}
	}
	st.Packets = 1
}

// firstTextLine is a payload's first line, cut to MaxTraceText bytes (on
// a rune boundary).
func firstTextLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	line = strings.TrimRight(line, "\r")
	if len(line) <= MaxTraceText {
		return line
	}
	cut := MaxTraceText
	for cut > 0 && line[cut]&0xc0 == 0x80 {
		cut--
	}
	return line[:cut]
}

// fold orders the steps by time on A's clock, leaves out pure
// acknowledgements seen in both files, joins runs of like packets and
// keeps what the budget allows; it returns the steps and how many packets
// it could not keep.
func (tr *tracer) fold(all []traced) ([]TraceStep, int) {
	slices.SortStableFunc(all, func(a, b traced) int {
		if c := cmp.Compare(a.at, b.at); c != 0 {
			return c
		}
		return cmp.Compare(a.key, b.key)
	})
	var out []TraceStep
	omitted := 0
	for _, s := range all {
		if s.InA && s.InB && s.Flags&(flagSYN|flagFIN|flagRST) == 0 && s.Bytes == 0 && !s.Rewritten {
			continue
		}
		if n := len(out); n > 0 && joins(&out[n-1], &s.TraceStep) {
			out[n-1].join(&s.TraceStep)
			continue
		}
		if tr.left <= 0 {
			omitted++
			continue
		}
		tr.left--
		out = append(out, s.TraceStep)
	}
	return out, omitted
}

// joins reports whether step s continues the run r: same direction and
// fate, no text, the same flags, both data or both not.
func joins(r, s *TraceStep) bool {
	return r.FromServer == s.FromServer && r.InA == s.InA && r.InB == s.InB && r.Kind == s.Kind && r.Counted == s.Counted &&
		!r.Rewritten && !s.Rewritten && r.TextA == "" && r.TextB == "" && s.TextA == "" && s.TextB == "" &&
		r.Flags&(flagSYN|flagFIN|flagRST|flagACK) == s.Flags&(flagSYN|flagFIN|flagRST|flagACK) && r.Flags&flagFIN == 0 &&
		(r.Bytes > 0) == (s.Bytes > 0)
}

// join adds step s to the run r.
func (r *TraceStep) join(s *TraceStep) {
	r.Packets += s.Packets
	r.Bytes += s.Bytes
	if s.InA {
		r.LastFrameA, r.LastA = s.LastFrameA, s.LastA
	}
	if s.InB {
		r.LastFrameB, r.LastB = s.LastFrameB, s.LastB
	}
}
