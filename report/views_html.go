package report

import (
	"fmt"
	"html/template"

	"ftpdiag/correlate"
	"ftpdiag/ftpflow"
)

// htmlViews is the "Two views" section of the page: what comparing the
// input files packet by packet found (HTMLOptions.Views).
type htmlViews struct {
	// Separate says the files share no packet.
	Separate bool
	// Views say where each file was captured.
	Views []View
	Pairs []htmlViewPair
}

// htmlViewPair is one pair of files compared.
type htmlViewPair struct {
	// Title names the files and, when they saw the same traffic, the
	// packets seen in both, the clock offset and the delay.
	Title string
	ViewPair
	// SideA and SideB list the hosts on each file's side.
	SideA, SideB string
	Notes        []viewNote
	// Ladders draws each control connection seen in both files, with its
	// data connections, across the two capture points.
	Ladders []htmlViewLadder
}

// htmlViewLadder is one two-view ladder as the page shows it.
type htmlViewLadder struct {
	Title string
	SVG   template.HTML // drawn by viewLadderSVG from escaped text
}

// First numbers the pair's first file from 1, as the text does.
func (p htmlViewPair) First() int { return p.A + 1 }

// Second numbers the pair's second file from 1.
func (p htmlViewPair) Second() int { return p.B + 1 }

// buildHTMLViews prepares the section, nil when r is nil.
func buildHTMLViews(r *correlate.Result, sessions []*ftpflow.Session, opt TimelineOptions) *htmlViews {
	views, c := BuildViews(r, sessions)
	if c == nil {
		return nil
	}
	hv := &htmlViews{Separate: len(views) == 0, Views: views}
	name := func(i int) string { return fmt.Sprintf("[%d] %s", i+1, Clean(r.Files[i].Name)) }
	for k, p := range c.Pairs {
		hp := htmlViewPair{ViewPair: p, SideA: orNone(p.SideA), SideB: orNone(p.SideB)}
		if !p.Views {
			hp.Title = fmt.Sprintf("%s and %s share no packet", name(p.A), name(p.B))
			hv.Pairs = append(hv.Pairs, hp)
			continue
		}
		hp.Title = fmt.Sprintf("%s and %s: %d packets seen in both; clock of %d %s that of %d by %s",
			name(p.A), name(p.B), p.MatchedPackets, p.B+1, aheadBehind(p.ClockOffset), p.A+1, seconds(p.ClockOffset))
		if p.Delay != nil {
			hp.Title += fmt.Sprintf("; one-way delay from %d to %d %s", p.A+1, p.B+1, seconds(*p.Delay))
		}
		for _, vc := range p.Connections {
			hp.Notes = append(hp.Notes, connNotes(p, vc)...)
		}
		for _, lc := range p.Lone {
			hp.Notes = append(hp.Notes, loneNotes(lc)...)
		}
		for _, l := range pairLadders(r, r.Pairs[k], sessions, opt) {
			hp.Ladders = append(hp.Ladders, htmlViewLadder{Title: l.Title, SVG: template.HTML(viewLadderSVG(l, l.Steps))})
		}
		hv.Pairs = append(hv.Pairs, hp)
	}
	return hv
}
