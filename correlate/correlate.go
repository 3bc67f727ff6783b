package correlate

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"ftpdiag/analyze"
)

// Reporting caps: what a Pair lists beyond them is counted in Omitted.
const (
	// MaxFrames is the number of frames a Loss names.
	MaxFrames = 32
	// MaxListed is the number of matched and lone connections a Pair
	// lists (matched connections with something to say come first).
	MaxListed = 1000
	// MaxRewrites is the number of rewrites listed per connection.
	MaxRewrites = 64
)

// minViewPackets is how many packets two files must share to be views of
// the same traffic: one could be chance, two in the same connection are
// not.
const minViewPackets = 2

// Correlate reads each input on its own, fingerprints its TCP connections
// and compares every pair of inputs. Inputs that cannot be opened are
// left out of the comparison (their File holds the error); the error
// joins one error per such input. It stops when ctx is done.
func Correlate(ctx context.Context, inputs []analyze.Input) (*Result, error) {
	res := &Result{Files: make([]File, len(inputs))}
	views := make([]*fileView, len(inputs))
	var errs []error
	for i, in := range inputs {
		fv, err := readInput(ctx, in)
		if err != nil {
			res.Files[i] = File{Name: in.Name, Err: err}
			errs = append(errs, err)
			continue
		}
		if fv.info.Err != nil {
			errs = append(errs, fv.info.Err)
		}
		views[i] = fv
		res.Files[i] = fv.info
	}
	if err := ctx.Err(); err != nil {
		return res, errors.Join(append(errs, err)...)
	}
	for i := range views {
		for j := i + 1; j < len(views); j++ {
			if views[i] == nil || views[j] == nil {
				continue
			}
			p := comparePair(views[i], views[j])
			p.A, p.B = i, j
			for k := range p.Lone {
				if p.Lone[k].Input == 0 {
					p.Lone[k].Input = i
				} else {
					p.Lone[k].Input = j
				}
			}
			fixInputs(&p, i, j)
			if p.Views {
				res.Mode = Views
			}
			res.Pairs = append(res.Pairs, p)
		}
	}
	return res, errors.Join(errs...)
}

// fixInputs turns the 0/1 file numbers comparePair uses into input
// indexes.
func fixInputs(p *Pair, i, j int) {
	idx := func(n int) int {
		if n == 0 {
			return i
		}
		return j
	}
	fix := func(ls []Loss) {
		for k := range ls {
			ls[k].Seen, ls[k].Missing = idx(ls[k].Seen), idx(ls[k].Missing)
		}
	}
	for k := range p.Conns {
		fix(p.Conns[k].Losses)
	}
	for k := range p.Lone {
		fix(p.Lone[k].Losses)
	}
}

// cmatch is a matched connection while the pair is compared.
type cmatch struct {
	x, y    *conn
	swapped bool          // x's direction d is y's direction 1-d
	pairs   [2][][2]int32 // per direction of x: matched packet indexes (x, y)
	unX     [2][]int32
	unY     [2][]int32 // indexed by x's direction
	upX     [2]int8    // per direction of x: 1 x's file is upstream, -1 y's, 0 unknown
	by      []string
}

// ydir maps a direction of x to y's.
func (m *cmatch) ydir(d int) int {
	if m.swapped {
		return 1 - d
	}
	return d
}

// comparePair matches the connections and packets of two files; file
// numbers in the result are 0 (x) and 1 (y).
func comparePair(fx, fy *fileView) Pair {
	var p Pair
	matches := matchConns(fx, fy)
	for _, m := range matches {
		for d := range 2 {
			yd := m.ydir(d)
			m.pairs[d], m.unX[d], m.unY[d] = matchPackets(m.x.pkts[d], m.y.pkts[yd])
			p.MatchedPackets += len(m.pairs[d])
		}
	}
	p.Views = p.MatchedPackets >= minViewPackets
	if len(matches) == 0 {
		return p
	}
	placeByTTL(matches)
	placeByTiming(matches)
	p.Offset, p.Delay, p.DelayKnown = offset(matches)
	sideX, sideY := hostSides(matches)
	for _, m := range matches {
		for d := range 2 {
			if m.upX[d] == 0 {
				m.upX[d] = sideOf(sideX, m.x.sender(d).Addr())
			}
		}
	}
	win := window(fx, fy, p.Offset, p.Delay)
	for _, m := range matches {
		p.Conns = append(p.Conns, describe(m, fx, fy, win))
	}
	matched := map[*conn]bool{}
	for _, m := range matches {
		matched[m.x], matched[m.y] = true, true
	}
	var lones []loneRef
	for f, fv := range []*fileView{fx, fy} {
		side := sideX
		if f == 1 {
			side = sideY
		}
		for _, c := range fv.conns {
			if matched[c] {
				continue
			}
			if l := lone(c, f, side, win, p.Offset); len(l.Losses) > 0 {
				p.Lone = append(p.Lone, l)
				lones = append(lones, loneRef{c: c, f: f, side: side})
			}
		}
	}
	addTraces(&p, matches, lones, fx, fy, win)
	p.SideA, p.SideB = sortedSide(sideX, 1), sortedSide(sideY, -1)
	p.Omitted += capList(&p.Conns, func(c ConnMatch) bool {
		return len(c.Losses) > 0 || len(c.Rewrites) > 0 || len(c.Options) > 0 || c.NAT != NATNone
	})
	p.Omitted += capList(&p.Lone, func(LoneConn) bool { return true })
	return p
}

// capList keeps at most MaxListed elements, those for which keep is true
// first, and returns how many it dropped.
func capList[T any](list *[]T, keep func(T) bool) int {
	if len(*list) <= MaxListed {
		return 0
	}
	var first, rest []T
	for _, x := range *list {
		if keep(x) {
			first = append(first, x)
		} else {
			rest = append(rest, x)
		}
	}
	all := append(first, rest...)
	n := len(all) - MaxListed
	*list = all[:MaxListed]
	return n
}

// token kinds: a connection's identity across files.
const (
	tokSeq = 1 << 40
	tokTS  = 2 << 40
)

// matchConns pairs the connections of two files that share an initial
// (or first seen) sequence number, or a first TCP timestamp, in either
// direction; a NAT changes neither. A candidate needs a sequence number,
// or the timestamps of both directions, to be taken.
func matchConns(fx, fy *fileView) []*cmatch {
	index := map[uint64][]int32{}
	for i, c := range fy.conns {
		for d := range 2 {
			if c.seen[d] {
				index[tokSeq|uint64(c.firstSeq[d])] = append(index[tokSeq|uint64(c.firstSeq[d])], int32(i))
			}
			if c.seenTS[d] {
				index[tokTS|uint64(c.firstTS[d])] = append(index[tokTS|uint64(c.firstTS[d])], int32(i))
			}
		}
	}
	taken := make([]bool, len(fy.conns))
	var out []*cmatch
	votes := map[int32]int{}
	for _, x := range fx.conns {
		clear(votes)
		for d := range 2 {
			if x.seen[d] {
				for _, i := range index[tokSeq|uint64(x.firstSeq[d])] {
					votes[i] += 2
				}
			}
			if x.seenTS[d] {
				for _, i := range index[tokTS|uint64(x.firstTS[d])] {
					votes[i]++
				}
			}
		}
		best, bestVotes := int32(-1), 1
		for i, v := range votes {
			if !taken[i] && (v > bestVotes || v == bestVotes && best >= 0 && i < best) {
				best, bestVotes = i, v
			}
		}
		if best < 0 {
			continue
		}
		y := fy.conns[best]
		m := &cmatch{x: x, y: y}
		seq := "seq" // first sequence numbers seen
		if x.sawSYN && y.sawSYN {
			seq = "isn"
		}
		switch {
		case x.seen[0] && y.seen[0] && x.firstSeq[0] == y.firstSeq[0],
			x.seen[1] && y.seen[1] && x.firstSeq[1] == y.firstSeq[1]:
			m.by = append(m.by, seq)
		case x.seen[0] && y.seen[1] && x.firstSeq[0] == y.firstSeq[1],
			x.seen[1] && y.seen[0] && x.firstSeq[1] == y.firstSeq[0]:
			m.swapped = true
			m.by = append(m.by, seq)
		case x.seenTS[0] && y.seenTS[1] && x.firstTS[0] == y.firstTS[1],
			x.seenTS[1] && y.seenTS[0] && x.firstTS[1] == y.firstTS[0]:
			m.swapped = true
		}
		if x.seenTS[0] && (y.seenTS[m.ydir(0)] && x.firstTS[0] == y.firstTS[m.ydir(0)]) ||
			x.seenTS[1] && (y.seenTS[m.ydir(1)] && x.firstTS[1] == y.firstTS[m.ydir(1)]) {
			m.by = append(m.by, "tsval")
		}
		taken[best] = true
		out = append(out, m)
	}
	return out
}

// pkey identifies one IP packet however a NAT rewrote its addresses,
// ports and sequence numbers: its IP ID and TCP timestamp (which a
// retransmission changes) and its SYN/FIN/RST flags.
type pkey struct {
	ipid  uint16
	tsval uint32
	flags uint8
}

// skey identifies a segment by content, for packets without IP ID or
// timestamp.
type skey struct {
	seq   uint32
	plen  uint16
	flags uint8
	hash  uint64
}

// matchPackets pairs the packets of one direction of a connection in two
// files, in capture order: first by IP ID and timestamp, then by sequence
// number, length and payload. It returns the pairs and the indexes left
// over on each side.
func matchPackets(xs, ys []pkt) (pairs [][2]int32, unX, unY []int32) {
	usedY := make([]bool, len(ys))
	usedX := make([]bool, len(xs))
	byID := map[pkey][]int32{}
	for i := range ys {
		if k, ok := idKey(&ys[i]); ok {
			byID[k] = append(byID[k], int32(i))
		}
	}
	for i := range xs {
		k, ok := idKey(&xs[i])
		if !ok {
			continue
		}
		if q := byID[k]; len(q) > 0 {
			byID[k] = q[1:]
			pairs = append(pairs, [2]int32{int32(i), q[0]})
			usedX[i], usedY[q[0]] = true, true
		}
	}
	bySeg := map[skey][]int32{}
	for i := range ys {
		if !usedY[i] {
			k := segKey(&ys[i])
			bySeg[k] = append(bySeg[k], int32(i))
		}
	}
	for i := range xs {
		if usedX[i] {
			continue
		}
		k := segKey(&xs[i])
		if q := bySeg[k]; len(q) > 0 {
			bySeg[k] = q[1:]
			pairs = append(pairs, [2]int32{int32(i), q[0]})
			usedX[i], usedY[q[0]] = true, true
		}
	}
	slices.SortFunc(pairs, func(a, b [2]int32) int { return int(a[0] - b[0]) })
	for i, u := range usedX {
		if !u {
			unX = append(unX, int32(i))
		}
	}
	for i, u := range usedY {
		if !u {
			unY = append(unY, int32(i))
		}
	}
	return pairs, unX, unY
}

func idKey(p *pkt) (pkey, bool) {
	if !p.hasID && !p.hasTS {
		return pkey{}, false
	}
	return pkey{ipid: p.ipid, tsval: p.tsval, flags: p.flags & (flagSYN | flagFIN | flagRST)}, true
}

func segKey(p *pkt) skey {
	return skey{seq: p.seq, plen: p.plen, flags: p.flags & (flagSYN | flagFIN | flagRST | flagACK), hash: p.hash}
}

// placeByTTL decides, per direction of each matched connection, which
// capture point the packets passed first: routers lower the TTL, so the
// file that saw the higher TTL is nearer the sender.
func placeByTTL(ms []*cmatch) {
	for _, m := range ms {
		for d := range 2 {
			vote := 0
			for _, pr := range m.pairs[d] {
				a, b := m.x.pkts[d][pr[0]].ttl, m.y.pkts[m.ydir(d)][pr[1]].ttl
				switch {
				case a == 0 || b == 0:
				case a > b:
					vote++
				case a < b:
					vote--
				}
			}
			switch {
			case vote > 0:
				m.upX[d] = 1
			case vote < 0:
				m.upX[d] = -1
			}
		}
		// One direction tells the other.
		if m.upX[0] == 0 {
			m.upX[0] = -m.upX[1]
		}
		if m.upX[1] == 0 {
			m.upX[1] = -m.upX[0]
		}
	}
}

// placeByTiming places the directions TTLs left unknown (no router
// between the capture points) from time differences: packets reach the
// far capture point later, so the direction whose median difference is
// the larger is the one that leaves x's capture point first.
func placeByTiming(ms []*cmatch) {
	for _, m := range ms {
		if m.upX[0] != 0 || len(m.pairs[0]) == 0 || len(m.pairs[1]) == 0 {
			continue
		}
		d0, d1 := median(deltas(m, 0)), median(deltas(m, 1))
		switch {
		case d0 > d1:
			m.upX[0], m.upX[1] = 1, -1
		case d0 < d1:
			m.upX[0], m.upX[1] = -1, 1
		}
	}
}

// deltas returns y's time minus x's for the matched packets of direction d.
func deltas(m *cmatch, d int) []int64 {
	out := make([]int64, len(m.pairs[d]))
	for i, pr := range m.pairs[d] {
		out[i] = m.y.pkts[m.ydir(d)][pr[1]].t - m.x.pkts[d][pr[0]].t
	}
	return out
}

func median(v []int64) int64 {
	if len(v) == 0 {
		return 0
	}
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// offset estimates y's clock minus x's: the mean of the median time
// difference of packets going from x's capture point to y's and of those
// going the other way, so the one-way delay cancels out.
func offset(ms []*cmatch) (off, delay time.Duration, known bool) {
	var fwd, back, all []int64
	for _, m := range ms {
		for d := range 2 {
			ds := deltas(m, d)
			all = append(all, ds...)
			switch m.upX[d] {
			case 1:
				fwd = append(fwd, ds...)
			case -1:
				back = append(back, ds...)
			}
		}
	}
	if len(fwd) == 0 || len(back) == 0 {
		return time.Duration(median(all)), 0, false
	}
	f, b := median(fwd), median(back)
	return time.Duration((f + b) / 2), time.Duration((f - b) / 2), true
}

// hostSides finds the hosts on each file's side of the path: the sender
// of packets that pass x's capture point first is on x's side (1), their
// receiver on y's (-1). Keys are addresses as each file shows them.
func hostSides(ms []*cmatch) (sideX, sideY map[netip.Addr]int8) {
	sideX, sideY = map[netip.Addr]int8{}, map[netip.Addr]int8{}
	for _, m := range ms {
		for d := range 2 {
			up := m.upX[d]
			if up == 0 {
				continue
			}
			yd := m.ydir(d)
			sideX[m.x.sender(d).Addr()] = up
			sideX[m.x.sender(1-d).Addr()] = -up
			sideY[m.y.sender(yd).Addr()] = up
			sideY[m.y.sender(1-yd).Addr()] = -up
		}
	}
	return sideX, sideY
}

// sideOf says on which side a host is: 1 x's, -1 y's, 0 unknown.
func sideOf(side map[netip.Addr]int8, a netip.Addr) int8 { return side[a] }

func sortedSide(side map[netip.Addr]int8, which int8) []netip.Addr {
	var out []netip.Addr
	for a, s := range side {
		if s == which {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return out
}

// span is the time, on x's clock, during which both files were capturing,
// with a margin for packets in flight.
type span struct{ from, to, off int64 }

func window(fx, fy *fileView, off, delay time.Duration) span {
	margin := int64(time.Millisecond) + 2*abs(int64(delay))
	s := span{from: max(fx.first, fy.first-int64(off)), to: min(fx.last, fy.last-int64(off)), off: int64(off)}
	s.from += margin
	s.to -= margin
	return s
}

// inX reports whether a time of file f (0 x, 1 y) lies within the span.
func (s span) in(f int, t int64) bool {
	if f == 1 {
		t -= s.off
	}
	return t >= s.from && t <= s.to
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// describe turns a matched connection into its report.
func describe(m *cmatch, fx, fy *fileView, win span) ConnMatch {
	cm := ConnMatch{InA: m.x.endpoints(), InB: m.y.endpoints(), Control: m.x.control || m.y.control, MatchedBy: m.by}
	if m.swapped { // y saw the other end first: name its ends as x does
		cm.InB.Client, cm.InB.Server = cm.InB.Server, cm.InB.Client
	}
	cm.NAT = natOf(cm.InA, cm.InB)
	for d := range 2 {
		yd := m.ydir(d)
		cm.Packets += len(m.pairs[d])
		xs, ys := m.x.pkts[d], m.y.pkts[yd]
		src, dst := m.x.sender(d), m.x.sender(1-d)
		ysrc, ydst := m.y.sender(yd), m.y.sender(1-yd)
		largest := 0
		for _, pr := range m.pairs[d] {
			largest = max(largest, int(xs[pr[0]].plen))
		}
		// Packets seen only where they should have been first left and
		// never arrived; those seen only where they should have arrived
		// were made between the two points.
		switch m.upX[d] {
		case 1:
			cm.Losses = append(cm.Losses, losses(xs, m.unX[d], 0, 1, src, dst, largest, false, win)...)
			cm.Losses = append(cm.Losses, losses(ys, m.unY[d], 1, 0, ysrc, ydst, largest, true, win)...)
		case -1:
			cm.Losses = append(cm.Losses, losses(ys, m.unY[d], 1, 0, ysrc, ydst, largest, false, win)...)
			cm.Losses = append(cm.Losses, losses(xs, m.unX[d], 0, 1, src, dst, largest, true, win)...)
		default:
			cm.Losses = append(cm.Losses, unplaced(xs, m.unX[d], 0, 1, src, dst, win)...)
			cm.Losses = append(cm.Losses, unplaced(ys, m.unY[d], 1, 0, ysrc, ydst, win)...)
		}
		for _, pr := range m.pairs[d] {
			a, b := &xs[pr[0]], &ys[pr[1]]
			if (a.plen > 0 || b.plen > 0) && (a.plen != b.plen || a.hash != b.hash) {
				if len(cm.Rewrites) < MaxRewrites {
					cm.Rewrites = append(cm.Rewrites, Rewrite{Src: src, Dst: dst, FrameA: int(a.frame), FrameB: int(b.frame),
						TextA: fx.text(a), TextB: fy.text(b), LenA: int(a.plen), LenB: int(b.plen),
						SeqShift: seqShift(m, d, pr)})
				}
			}
			if a.flags&flagSYN != 0 && (a.mss != b.mss || a.win != b.win) {
				cm.Options = append(cm.Options, OptionChange{Src: src, Dst: dst, FrameA: int(a.frame), FrameB: int(b.frame),
					MSSA: int(a.mss), MSSB: int(b.mss), WindowA: int(a.win), WindowB: int(b.win)})
			}
		}
	}
	sortLosses(cm.Losses)
	cm.Unanswered = unanswered(m.x) && unanswered(m.y)
	return cm
}

// unanswered reports whether a connection holds SYNs and nothing from the
// other end.
func unanswered(c *conn) bool {
	return c.sawSYN && len(c.pkts[1]) == 0 && len(c.pkts[0]) > 0
}

func (fv *fileView) text(p *pkt) string {
	if p.text < 0 {
		return ""
	}
	return fv.texts[p.text]
}

// seqShift is how far y's sequence numbers of direction d moved from x's
// after the matched pair pr: that of the next matched packet, less that
// of the first.
func seqShift(m *cmatch, d int, pr [2]int32) int64 {
	ps := m.pairs[d]
	i, _ := slices.BinarySearchFunc(ps, pr[0], func(a [2]int32, t int32) int { return int(a[0] - t) })
	first := int64(int32(m.y.pkts[m.ydir(d)][ps[0][1]].seq - m.x.pkts[d][ps[0][0]].seq))
	if i+1 >= len(ps) {
		return 0
	}
	nx := ps[i+1]
	return int64(int32(m.y.pkts[m.ydir(d)][nx[1]].seq-m.x.pkts[d][nx[0]].seq)) - first
}

// natOf compares a connection's ends in two files.
func natOf(a, b Endpoints) NATKind {
	k := NATNone
	if a.Client != b.Client {
		k = NATSource
	}
	if a.Server != b.Server {
		if k == NATSource {
			return NATBoth
		}
		k = NATDestination
	}
	return k
}

// losses groups the packets idx of one direction, seen in file seen only,
// into Losses: made is true when the packets were seen only where they
// should have arrived (made between the two capture points).
func losses(ps []pkt, idx []int32, seen, missing int, src, dst netip.AddrPort, largest int, made bool, win span) []Loss {
	var out []Loss
	var cur *Loss
	for j, k := range lossKinds(ps, idx, seen, largest, made, win) {
		if k == notCounted {
			continue
		}
		if cur == nil || cur.Kind != k {
			out = append(out, Loss{Kind: k, Seen: seen, Missing: missing, Src: src, Dst: dst})
			cur = &out[len(out)-1]
			if k == LostFullSize { // full-size segments lost while smaller ones passed
				cur.LargestPassed = largest
			}
		}
		cur.add(&ps[idx[j]])
	}
	return merge(out)
}

// minFullSize is the least payload called full-size: IPv4's minimum MTU
// (576) less 40 bytes of headers.
const minFullSize = 536

func lossKind(p *pkt, made bool) LossKind {
	switch {
	case made && p.flags&flagRST != 0 && p.flags&flagACK != 0 && p.plen == 0 && p.seq == 0:
		return AnsweredBetween
	case made && p.flags&flagRST != 0:
		return ForgedRST
	case made && p.synack():
		return AnsweredBetween
	case made:
		return Injected
	case p.syn():
		return LostSYN
	case p.synack():
		return LostSYNACK
	case p.flags&flagRST != 0:
		return LostRST
	case p.flags&flagFIN != 0:
		return LostFIN
	case p.plen > 0:
		return LostData
	}
	return LostOther
}

func (l *Loss) add(p *pkt) {
	t := time.Unix(0, p.t)
	if l.Packets == 0 {
		l.First = t
		l.SmallestLost = int(p.plen)
	}
	l.Last = t
	l.Packets++
	l.Bytes += int(p.plen)
	if p.plen > 0 && (int(p.plen) < l.SmallestLost || l.SmallestLost == 0) {
		l.SmallestLost = int(p.plen)
	}
	if len(l.Frames) < MaxFrames {
		l.Frames = append(l.Frames, int(p.frame))
	}
}

// merge joins groups of the same kind that other kinds interleaved (data
// and pure ACKs alternate): one group per kind and direction.
func merge(ls []Loss) []Loss {
	var out []Loss
	at := map[LossKind]int{}
	for _, l := range ls {
		i, ok := at[l.Kind]
		if !ok {
			at[l.Kind] = len(out)
			out = append(out, l)
			continue
		}
		o := &out[i]
		o.Packets += l.Packets
		o.Bytes += l.Bytes
		o.Last = l.Last
		if l.SmallestLost > 0 && (o.SmallestLost == 0 || l.SmallestLost < o.SmallestLost) {
			o.SmallestLost = l.SmallestLost
		}
		for _, f := range l.Frames {
			if len(o.Frames) < MaxFrames {
				o.Frames = append(o.Frames, f)
			}
		}
	}
	return out
}

func unplaced(ps []pkt, idx []int32, seen, missing int, src, dst netip.AddrPort, win span) []Loss {
	var l Loss
	for _, i := range idx {
		if win.in(seen, ps[i].t) {
			l.add(&ps[i])
		}
	}
	if l.Packets == 0 {
		return nil
	}
	l.Kind, l.Seen, l.Missing, l.Src, l.Dst = Unplaced, seen, missing, src, dst
	return []Loss{l}
}

func sortLosses(ls []Loss) {
	slices.SortStableFunc(ls, func(a, b Loss) int { return a.First.Compare(b.First) })
}

// lone describes a connection seen only in file f: packets from a host on
// f's side left and never arrived; packets in the name of a host on the
// other side were made between the two capture points.
func lone(c *conn, f int, side map[netip.Addr]int8, win span, off time.Duration) LoneConn {
	l := LoneConn{Input: f, Conn: c.endpoints()}
	mine := int8(1)
	if f == 1 {
		mine = -1
	}
	for d := range 2 {
		idx := make([]int32, len(c.pkts[d]))
		for i := range idx {
			idx[i] = int32(i)
		}
		src, dst := c.sender(d), c.sender(1-d)
		switch sideOf(side, src.Addr()) {
		case mine:
			l.Losses = append(l.Losses, losses(c.pkts[d], idx, f, 1-f, src, dst, 0, false, win)...)
		case -mine:
			l.Losses = append(l.Losses, losses(c.pkts[d], idx, f, 1-f, src, dst, 0, true, win)...)
		default:
			l.Losses = append(l.Losses, unplaced(c.pkts[d], idx, f, 1-f, src, dst, win)...)
		}
	}
	sortLosses(l.Losses)
	return l
}

// String describes a translation: "198.51.100.50:35582 > 203.0.113.10:21
// is 198.51.100.50:35582 > 10.0.0.5:21".
func (c ConnMatch) String() string {
	return fmt.Sprintf("%s > %s is %s > %s (%s NAT)", c.InA.Client, c.InA.Server, c.InB.Client, c.InB.Server, c.NAT)
}
