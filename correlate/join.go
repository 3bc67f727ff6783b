package correlate

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"ftpdiag/analyze"
	"ftpdiag/ftpflow"
)

// Joinable reports whether Join can join the analyses of r's inputs: they
// are views of the same traffic (Mode Views) and every input saw packets
// another input saw too. An input that shares nothing, or could not be
// read, leaves the inputs to be merged as one capture instead.
func Joinable(r *Result) bool {
	if r == nil || r.Mode != Views || len(r.Files) < 2 {
		return false
	}
	inView := make([]bool, len(r.Files))
	for _, p := range r.Pairs {
		if p.Views {
			inView[p.A], inView[p.B] = true, true
		}
	}
	return !slices.Contains(inView, false)
}

// Join joins the analyses of views of the same traffic, one per input of
// r in its order (analyze.RunView), into one analysis with one session per
// real session: the sessions whose control connections the comparison
// matched across inputs (a Pair's Conns) become one, shown as the view
// nearest the client saw it (the first input when no session tells), and
// Analysis.Views names how each input saw it. A failure seen in several
// views is one finding, the most severe and sure of them, and a finding
// says what the comparison knows about its packets: where they vanished,
// the translation the session went through, payload rewritten on the way
// (see joinFindings). Sessions seen by one input only stay as they are.
//
// Sessions are numbered from 1 in the order their control connections
// began, findings in the order of their sessions, then those about the
// whole capture. The analyses are consumed: their sessions are
// renumbered in place.
func Join(r *Result, views []*analyze.Analysis) *analyze.Analysis {
	j := newJoiner(r, views)
	j.link()
	groups := j.groups()
	out := &analyze.Analysis{Views: map[int][]analyze.SessionView{}}
	j.totals(out)
	var findings []analyze.Finding
	for i, g := range groups {
		id := i + 1
		for _, n := range g.nodes {
			j.newID[n] = id
		}
		out.Views[id] = g.sessionViews()
	}
	for i, g := range groups {
		findings = append(findings, j.joinFindings(g, i+1)...)
		g.nodes[0].s.ID = i + 1
		out.Sessions = append(out.Sessions, g.nodes[0].s)
	}
	for id, v := range out.Views {
		if len(v) < 2 {
			delete(out.Views, id) // a session one input alone saw
		}
	}
	findings = append(findings, j.wholeCaptureFindings()...)
	for i := range findings {
		findings[i].ID = fmt.Sprintf("F%d", i+1)
	}
	out.Findings = findings
	return out
}

// node is one session of one input's analysis.
type node struct {
	input int
	s     *ftpflow.Session
	// oldID is the session's ID in its input's analysis.
	oldID int
}

// joiner holds the state of one Join.
type joiner struct {
	r     *Result
	views []*analyze.Analysis
	nodes []*node
	// byInput lists each input's nodes.
	byInput [][]*node
	parent  map[*node]*node
	// newID is each node's session ID in the joined analysis.
	newID map[*node]int
}

func newJoiner(r *Result, views []*analyze.Analysis) *joiner {
	j := &joiner{r: r, views: views, byInput: make([][]*node, len(views)), parent: map[*node]*node{}, newID: map[*node]int{}}
	for i, a := range views {
		if a == nil {
			continue
		}
		for _, s := range a.Sessions {
			n := &node{input: i, s: s, oldID: s.ID}
			j.nodes = append(j.nodes, n)
			j.byInput[i] = append(j.byInput[i], n)
			j.parent[n] = n
		}
	}
	return j
}

// link unites the sessions whose control connections a pair of views
// matched.
func (j *joiner) link() {
	for _, p := range j.r.Pairs {
		if !p.Views {
			continue
		}
		for _, c := range p.Conns {
			a, b := j.session(p.A, c.InA), j.session(p.B, c.InB)
			if a != nil && b != nil {
				j.union(a, b)
			}
		}
	}
}

// session finds the session of input i whose control connection has the
// endpoints e: of several (a 5-tuple used again), the one beginning at
// e's first frame, else the latest to begin before it.
func (j *joiner) session(i int, e Endpoints) *node {
	if i >= len(j.byInput) {
		return nil
	}
	var best *node
	for _, n := range j.byInput[i] {
		if n.s.Client != e.Client || n.s.Server != e.Server {
			continue
		}
		f := n.s.Control.First.Frame
		switch {
		case f == e.FirstFrame:
			return n
		case f < e.FirstFrame && (best == nil || f > best.s.Control.First.Frame):
			best = n
		}
	}
	return best
}

func (j *joiner) find(n *node) *node {
	for j.parent[n] != n {
		j.parent[n] = j.parent[j.parent[n]]
		n = j.parent[n]
	}
	return n
}

func (j *joiner) union(a, b *node) { j.parent[j.find(a)] = j.find(b) }

// group is one real session: the sessions of the views that saw it, the
// one shown first.
type group struct {
	nodes []*node
}

// groups gathers the nodes of each real session, the shown one first,
// the others in input order, and orders the groups by the time the shown
// session's control connection began.
func (j *joiner) groups() []*group {
	byRoot := map[*node]*group{}
	var out []*group
	for _, n := range j.nodes {
		root := j.find(n)
		g := byRoot[root]
		if g == nil {
			g = &group{}
			byRoot[root] = g
			out = append(out, g)
		}
		g.nodes = append(g.nodes, n)
	}
	for _, g := range out {
		slices.SortStableFunc(g.nodes, func(x, y *node) int {
			return cmp.Or(cmp.Compare(x.input, y.input), cmp.Compare(x.oldID, y.oldID))
		})
		if k := slices.IndexFunc(g.nodes, func(n *node) bool { return n.s.Control.Locate().Side == ftpflow.VantageClient }); k > 0 {
			shown := g.nodes[k]
			g.nodes = slices.Insert(slices.Delete(g.nodes, k, k+1), 0, shown)
		}
	}
	slices.SortStableFunc(out, func(x, y *group) int {
		a, b := x.nodes[0], y.nodes[0]
		return cmp.Or(a.s.Control.First.Time.Compare(b.s.Control.First.Time), cmp.Compare(a.input, b.input), cmp.Compare(a.oldID, b.oldID))
	})
	return out
}

// sessionViews says how each view saw the group's session.
func (g *group) sessionViews() []analyze.SessionView {
	shown := g.nodes[0].s
	out := make([]analyze.SessionView, 0, len(g.nodes))
	for _, n := range g.nodes {
		nat := natOf(Endpoints{Client: shown.Client, Server: shown.Server}, Endpoints{Client: n.s.Client, Server: n.s.Server})
		out = append(out, analyze.SessionView{Input: n.input, ID: n.oldID, Session: n.s, NAT: nat.String()})
	}
	return out
}

// totals gives the joined analysis every input, in order, the statistics
// summed and the span of all.
func (j *joiner) totals(out *analyze.Analysis) {
	for _, a := range j.views {
		if a == nil {
			continue
		}
		out.Inputs = append(out.Inputs, a.Inputs...)
		addStats(&out.Stats, a.Stats)
		out.First = earliest(out.First, a.First)
		if a.Last.After(out.Last) {
			out.Last = a.Last
		}
	}
}

// addStats adds one view's statistics to the joined analysis's.
func addStats(to *ftpflow.Stats, s ftpflow.Stats) {
	if to.FirstUndecoded == "" {
		to.FirstUndecoded = s.FirstUndecoded
	}
	to.Packets += s.Packets
	to.TCPPackets += s.TCPPackets
	to.Connections += s.Connections
	to.Fragments += s.Fragments
	to.Malformed += s.Malformed
	to.UnsupportedLink += s.UnsupportedLink
	to.Undecoded += s.Undecoded
	to.Duplicates += s.Duplicates
	to.ICMPTooBig += s.ICMPTooBig
	to.EvictedConnections += s.EvictedConnections
	to.DroppedSessions += s.DroppedSessions
	to.DroppedOffers += s.DroppedOffers
	to.TruncatedPayload += s.TruncatedPayload
	to.BackwardTimestamps += s.BackwardTimestamps
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || !b.IsZero() && b.Before(a) {
		return b
	}
	return a
}

// wholeCaptureFindings are the findings about no session, each once: two
// views of one SYN flood tell it twice.
func (j *joiner) wholeCaptureFindings() []analyze.Finding {
	var out []analyze.Finding
	seen := map[[2]string]bool{}
	for i, a := range j.views {
		if a == nil {
			continue
		}
		for _, f := range a.Findings {
			if f.Session != 0 {
				continue
			}
			key := [2]string{f.Kind, f.Summary}
			if seen[key] {
				continue
			}
			seen[key] = true
			f.Refs.Sessions = j.renumber(i, f.Refs.Sessions)
			out = append(out, f)
		}
	}
	return out
}

// renumber turns session IDs of input i's analysis into joined ones.
func (j *joiner) renumber(i int, ids []int) []int {
	if len(ids) == 0 {
		return ids
	}
	out := make([]int, 0, len(ids))
	for _, id := range ids {
		for _, n := range j.byInput[i] {
			if n.oldID == id {
				out = append(out, j.newID[n])
				break
			}
		}
	}
	return out
}

// findingsOf returns the findings input i's analysis drew about its
// session oldID.
func (j *joiner) findingsOf(i, oldID int) []analyze.Finding {
	var out []analyze.Finding
	for _, f := range j.views[i].Findings {
		if f.Session == oldID {
			out = append(out, f)
		}
	}
	return out
}
