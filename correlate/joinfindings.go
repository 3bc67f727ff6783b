package correlate

import (
	"fmt"
	"maps"
	"net/netip"
	"regexp"
	"slices"
	"strings"

	"ftpdiag/analyze"
	"ftpdiag/ftpflow"
)

// version is one view's finding about a real session.
type version struct {
	node *node
	f    analyze.Finding
}

// family names the failures that are one when views of the same session
// tell them: the same kind about the same transfer, or SYNs unanswered at
// one point and no connection at the other (data_not_attempted is what
// the server's side sees of SYNs that never reached it).
func family(kind string) string {
	if kind == analyze.KindDataNotAttempted {
		return analyze.KindDataSYNUnanswered
	}
	return kind
}

// joinFindings returns the findings about a real session, numbered as
// session id: one per failure however many views told it, with what the
// comparison knows of its packets.
func (j *joiner) joinFindings(g *group, id int) []analyze.Finding {
	type key struct {
		family   string
		transfer int
	}
	var keys []key
	var buckets [][]version
	for _, n := range g.nodes {
		for _, f := range j.findingsOf(n.input, n.oldID) {
			v := version{node: n, f: f}
			k := key{family(f.Kind), j.transferIn(g, n, f.Transfer)}
			b := slices.IndexFunc(keys, func(x key) bool { return x == k })
			// Two findings of one view are two failures, never one.
			for b >= 0 && slices.ContainsFunc(buckets[b], func(w version) bool { return w.node == n }) {
				next := slices.IndexFunc(keys[b+1:], func(x key) bool { return x == k })
				if next < 0 {
					b = -1
					break
				}
				b += 1 + next
			}
			if b < 0 {
				keys = append(keys, k)
				buckets = append(buckets, nil)
				b = len(keys) - 1
			}
			buckets[b] = append(buckets[b], v)
		}
	}
	out := make([]analyze.Finding, 0, len(keys))
	for i, k := range keys {
		out = append(out, j.combine(g, id, k.transfer, buckets[i]))
	}
	return out
}

// transferIn maps a transfer ID of node n's session to the shown session's:
// the transfer at the same place in both, when its command is the same (0
// otherwise, and for 0).
func (j *joiner) transferIn(g *group, n *node, id int) int {
	shown := g.nodes[0]
	if n == shown || id == 0 {
		return id
	}
	k := slices.IndexFunc(n.s.Transfers, func(t *ftpflow.Transfer) bool { return t.ID == id })
	if k < 0 || k >= len(shown.s.Transfers) {
		return 0
	}
	t, u := n.s.Transfers[k], shown.s.Transfers[k]
	if t.Command != u.Command || t.Arg != u.Arg {
		return 0
	}
	return u.ID
}

// combine makes one finding of the versions of a failure: the most severe
// version, then the surest, then the shown view's, with the severity and
// confidence of the surest, the views that told it, and what comparing
// the views found of its packets.
func (j *joiner) combine(g *group, id, transfer int, vs []version) analyze.Finding {
	k := 0
	for i, v := range vs {
		if v.f.Severity > vs[k].f.Severity || v.f.Severity == vs[k].f.Severity && v.f.Confidence < vs[k].f.Confidence {
			k = i
		}
	}
	kept := vs[k]
	f := kept.f
	f.Session, f.Transfer = id, transfer
	f.Refs.Sessions = j.renumber(kept.node.input, f.Refs.Sessions)
	if kept.node != g.nodes[0] {
		ts := make([]int, 0, len(f.Refs.Transfers))
		for _, t := range f.Refs.Transfers {
			if m := j.transferIn(g, kept.node, t); m != 0 {
				ts = append(ts, m)
			}
		}
		f.Refs.Transfers = ts
	}
	if len(g.nodes) < 2 {
		return f
	}
	f.Evidence = maps.Clone(f.Evidence)
	if f.Evidence == nil {
		f.Evidence = map[string]any{}
	}
	f.Evidence["frames_of_input"] = kept.node.input
	var seenIn []int
	var others []map[string]any
	for i, v := range vs {
		if !slices.Contains(seenIn, v.node.input) {
			seenIn = append(seenIn, v.node.input)
		}
		if i != k {
			others = append(others, map[string]any{"input": v.node.input, "kind": v.f.Kind, "summary": v.f.Summary, "confidence": v.f.Confidence.String()})
		}
	}
	slices.Sort(seenIn)
	f.Evidence["seen_in"] = seenIn
	if len(others) > 0 {
		f.Evidence["other_views"] = others
	}
	j.addBetween(&f, g, vs)
	return f
}

// addBetween adds to a finding what comparing the views found about its
// packets: packets that vanished between the capture points or appeared
// there, SYNs no capture point saw answered, and for a finding about an
// announced address, the translation the control connection went through
// and payload rewritten on the way. Packets proven lost between the two
// points, or proven to reach both unanswered, make the finding certain.
func (j *joiner) addBetween(f *analyze.Finding, g *group, vs []version) {
	b := j.between(g, vs, addressKind(f.Kind))
	if len(b.sentences) == 0 {
		return
	}
	f.Summary += "; " + framesNote.ReplaceAllString(b.sentences[0], "")
	f.Explanation = strings.TrimSpace(f.Explanation + "\n\nComparing the captures: " + strings.Join(b.sentences, "; ") + ".")
	if len(b.lost) > 0 {
		f.Evidence["between_views"] = b.lost
	}
	if len(b.rewritten) > 0 {
		f.Evidence["rewritten"] = b.rewritten
	}
	if b.translation != "" {
		f.Evidence["translation"] = b.translation
	}
	if b.proven {
		f.Confidence = analyze.Certain
	}
}

// framesNote matches the frames a sentence cites, left out of a summary.
var framesNote = regexp.MustCompile(` \(frames [0-9,.]+ of \[[0-9]+\]\)|, frame [0-9]+ of \[[0-9]+\](,|$)`)

// ranked is a sentence and how telling it is: the lower the rank, the
// nearer the cause.
type ranked struct {
	rank int
	text string
}

// The ranks of what comparing the views says: a device answering or
// resetting in a host's name, SYNs that reached both points unanswered,
// packets lost on the way, then the rewrites and the translation that
// explain an announced address.
const (
	rankMade = iota
	rankUnanswered
	rankLost
	rankOther
	rankRewrite
	rankTranslation
)

// lossRank ranks a group of packets seen at one capture point only.
func lossRank(k LossKind) int {
	switch k {
	case AnsweredBetween, ForgedRST:
		return rankMade
	case LostSYN, LostSYNACK, LostFullSize, LostData:
		return rankLost
	}
	return rankOther
}

// say adds a sentence of rank r.
func (b *betweenViews) say(r int, text string) { b.said = append(b.said, ranked{r, text}) }

// addressKind reports whether a finding is about an address announced on
// the control connection, which a translation or a helper rewriting the
// announcement explains.
func addressKind(kind string) bool {
	return kind == analyze.KindPASVAddressMismatch || kind == analyze.KindPORTAddressMismatch
}

// betweenViews is what comparing the views found about one finding.
type betweenViews struct {
	// sentences say it in words, most telling first (see rank).
	sentences []string
	said      []ranked
	// lost and rewritten are the evidence, as the report prints it.
	lost, rewritten []map[string]any
	translation     string
	// proven: packets proven lost between the capture points, or to
	// have reached both unanswered.
	proven bool
}

// between gathers, over every pair of the group's views, the losses of
// the connections the versions' evidence names and, with address, the
// control connection's translation and rewrites.
func (j *joiner) between(g *group, vs []version, address bool) betweenViews {
	var b betweenViews
	for _, p := range j.r.Pairs {
		if !p.Views || g.session(p.A) == nil || g.session(p.B) == nil {
			continue
		}
		for _, c := range p.Conns {
			if j.isControl(g, p, c) {
				if address {
					b.control(j.r, g, p, c)
				}
				continue
			}
			if !slices.ContainsFunc(vs, func(v version) bool {
				return v.node.input == p.A && relevant(v, c.InA) || v.node.input == p.B && relevant(v, c.InB)
			}) {
				continue
			}
			if c.Unanswered {
				b.say(rankUnanswered, fmt.Sprintf("the SYNs of %s reached both %s and %s and got no answer: dropped beyond the farther capture point (by the receiving host itself or its own firewall), not on the way",
					c.InA.Client.String()+" > "+c.InA.Server.String(), g.where(p.A), g.where(p.B)))
				b.proven = true
			}
			for _, l := range c.Losses {
				b.say(lossRank(l.Kind), b.loss(g, l))
			}
		}
		for _, lc := range p.Lone {
			if !slices.ContainsFunc(vs, func(v version) bool { return v.node.input == lc.Input && relevant(v, lc.Conn) }) {
				continue
			}
			for _, l := range lc.Losses {
				b.say(lossRank(l.Kind), b.loss(g, l))
			}
		}
	}
	slices.SortStableFunc(b.said, func(x, y ranked) int { return x.rank - y.rank })
	for _, r := range b.said {
		b.sentences = append(b.sentences, r.text)
	}
	return b
}

// isControl reports whether c is the control connection of the group's
// session in both files of p.
func (j *joiner) isControl(g *group, p Pair, c ConnMatch) bool {
	a, b := g.session(p.A), g.session(p.B)
	return a.Client == c.InA.Client && a.Server == c.InA.Server && b.Client == c.InB.Client && b.Server == c.InB.Server
}

// relevant reports whether version v's evidence names the connection
// whose ends are e in v's file: as the connection it is about, or as the
// endpoint announced.
func relevant(v version, e Endpoints) bool {
	r := v.f.Refs
	if r.Conn.IsValid() && (r.Conn.Client == e.Client && r.Conn.Server == e.Server || r.Conn.Client == e.Server && r.Conn.Server == e.Client) {
		return true
	}
	o := r.Offer.Endpoint
	return o.IsValid() && (e.Server == o || e.Client == o)
}

// control adds the control connection's translation and the payload
// rewritten on it between p's two files.
func (b *betweenViews) control(r *Result, g *group, p Pair, c ConnMatch) {
	if c.NAT != NATNone {
		b.translation = fmt.Sprintf("%s > %s in %s is %s > %s in %s (%s NAT)", c.InA.Client, c.InA.Server, fileName(r, p.A), c.InB.Client, c.InB.Server, fileName(r, p.B), c.NAT)
		b.say(rankTranslation, fmt.Sprintf("the control connection %s > %s, as %s shows it, reached %s as %s > %s: %s", c.InA.Client, c.InA.Server, g.where(p.A), g.where(p.B), c.InB.Client, c.InB.Server, natWords(c.NAT)))
	}
	for _, w := range c.Rewrites {
		// Src is as A shows it: the sender is on A's side, where the
		// original was captured, or else on B's.
		from, to := p.A, p.B
		fromText, toText, fromFrame, toFrame := w.TextA, w.TextB, w.FrameA, w.FrameB
		if len(p.SideA) > 0 && !slices.Contains(p.SideA, w.Src.Addr()) {
			from, to = p.B, p.A
			fromText, toText, fromFrame, toFrame = w.TextB, w.TextA, w.FrameB, w.FrameA
		}
		b.say(rankRewrite, fmt.Sprintf("a device between the capture points (an FTP helper) rewrote %q, frame %d %s, into %q, frame %d %s",
			trimLine(fromText), fromFrame, g.in(from), trimLine(toText), toFrame, g.in(to)))
		b.rewritten = append(b.rewritten, map[string]any{"input": from, "frame": fromFrame, "text": trimLine(fromText),
			"arrived_input": to, "arrived_frame": toFrame, "arrived_text": trimLine(toText)})
	}
}

// loss says what one group of packets seen at one capture point only
// means for the finding, and records it.
func (b *betweenViews) loss(g *group, l Loss) string {
	b.lost = append(b.lost, map[string]any{"kind": l.Kind.String(), "seen_in": l.Seen, "missing_in": l.Missing,
		"from": l.Src.String(), "to": l.Dst.String(), "packets": l.Packets, "frames": l.Frames})
	who := g.role(l.Seen, l.Src.Addr())
	frames := fmt.Sprintf("frames %s %s", FrameList(l.Frames, l.Packets), g.in(l.Seen))
	switch l.Kind {
	case LostSYN:
		b.proven = true
		return fmt.Sprintf("%s %s to %s (%s) never reached %s: lost between the two capture points", possessive(who), plural(l.Packets, "SYN"), l.Dst, frames, g.where(l.Missing))
	case LostSYNACK:
		b.proven = true
		return fmt.Sprintf("%s answer to %s (%s) never reached %s: the return path drops it", possessive(who), l.Dst, frames, g.where(l.Missing))
	case LostFullSize:
		b.proven = true
		passed := "only small packets passed"
		if l.LargestPassed > 0 {
			passed = fmt.Sprintf("segments of up to %d bytes passed", l.LargestPassed)
		}
		return fmt.Sprintf("%s %s of %d bytes and more (%s) never reached %s while %s: a path MTU black hole between the two capture points",
			possessive(who), plural(l.Packets, "full-size segment"), l.SmallestLost, frames, g.where(l.Missing), passed)
	case LostData:
		b.proven = true
		return fmt.Sprintf("%d bytes of data from %s (%s) never reached %s", l.Bytes, who, frames, g.where(l.Missing))
	case LostFIN, LostRST, LostOther:
		return fmt.Sprintf("%s %s to %s (%s) never reached %s", possessive(who), plural(l.Packets, lostWhat(l.Kind)), l.Dst, frames, g.where(l.Missing))
	case ForgedRST:
		b.proven = true
		return fmt.Sprintf("%s in the name of %s (%s) were never sent from its side, as %s shows: a device between the two capture points forged them",
			plural(l.Packets, "RST"), who, frames, g.where(l.Missing))
	case AnsweredBetween:
		b.proven = true
		return fmt.Sprintf("the answer in the name of %s to %s (%s) never came from its side, as %s shows: a device between the two capture points answered the SYN itself",
			who, l.Dst, frames, g.where(l.Missing))
	case Injected:
		return fmt.Sprintf("%s in the name of %s (%s) were made between the two capture points", plural(l.Packets, "segment"), who, frames)
	}
	return fmt.Sprintf("%s from %s (%s) were seen %s only; which side sent them is unknown", plural(l.Packets, "packet"), who, frames, g.in(l.Seen))
}

func lostWhat(k LossKind) string {
	switch k {
	case LostFIN:
		return "FIN"
	case LostRST:
		return "RST"
	}
	return "segment"
}

// session returns the group's session as input i saw it (nil when it did
// not).
func (g *group) session(i int) *ftpflow.Session {
	for _, n := range g.nodes {
		if n.input == i {
			return n.s
		}
	}
	return nil
}

// role names the host of address a as input i's view of the session
// shows it: "the client", "the server" or the address.
func (g *group) role(i int, a netip.Addr) string {
	if s := g.session(i); s != nil {
		switch a {
		case s.Client.Addr():
			return "the client"
		case s.Server.Addr():
			return "the server"
		}
	}
	return a.String()
}

// where names input i's capture point: "[2] (the capture at the server)".
func (g *group) where(i int) string {
	if s := g.session(i); s != nil {
		switch side := s.Control.Locate().Side; side {
		case ftpflow.VantageClient, ftpflow.VantageServer:
			return fmt.Sprintf("[%d] (the capture at the %s)", i+1, side)
		case ftpflow.VantageBetween:
			return fmt.Sprintf("[%d] (the capture between them)", i+1)
		}
	}
	return fmt.Sprintf("[%d]", i+1)
}

// in says "of [2]", naming an input as the reports do.
func (g *group) in(i int) string { return fmt.Sprintf("of [%d]", i+1) }

func fileName(r *Result, i int) string { return fmt.Sprintf("[%d] %s", i+1, r.Files[i].Name) }

func natWords(k NATKind) string {
	switch k {
	case NATSource:
		return "source NAT (the client's address or port translated)"
	case NATDestination:
		return "destination NAT (the server's address or port translated)"
	}
	return "both ends translated"
}

func possessive(who string) string { return who + "'s" }

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// FrameList writes frame numbers as "3,5,8", with ",..." when n, the
// number of frames in all, is more than those listed.
func FrameList(fs []int, n int) string {
	s := make([]string, len(fs))
	for i, f := range fs {
		s[i] = fmt.Sprint(f)
	}
	out := strings.Join(s, ",")
	if n > len(fs) {
		out += ",..."
	}
	return out
}

func trimLine(s string) string { return strings.TrimRight(s, "\r\n") }
