package report

import (
	"fmt"
	"io"
	"strings"
)

// The text two-view ladder's geometry: lanes viewLane columns apart when
// the width is not limited, no closer than viewMinLane, notes at least
// viewMinNote wide when fitted to a width.
const (
	viewLane    = 22
	viewMinLane = 8
	viewMinNote = 36
)

// viewLayout is how one two-view ladder is drawn in text.
type viewLayout struct {
	l     *viewLadder
	steps []viewStep
	lane  int // columns between two lanes
	frame int // the frames column's width
	note  int // the notes' width (0: unlimited)
	width int // the report's width (0: unlimited)
}

// newViewLayout fits a ladder to width (0: no limit): lanes narrowed to
// leave the notes viewMinNote columns, notes wrapped to what remains.
func newViewLayout(l *viewLadder, width int) *viewLayout {
	v := &viewLayout{l: l, steps: l.Steps, lane: viewLane, frame: len("frames"), width: width}
	for _, st := range l.Steps {
		v.frame = max(v.frame, columns(st.Frames))
	}
	if width <= 0 {
		return v
	}
	v.lane = min(viewLane, max(viewMinLane, (width-v.prefix()-1-2-viewMinNote)/3))
	v.note = max(width-v.prefix()-v.ladderWidth()-2, 16)
	return v
}

// prefix is the width of the times and frames before the ladder.
func (v *viewLayout) prefix() int { return 8 + 1 + 8 + 1 + v.frame + 2 }

func (v *viewLayout) ladderWidth() int { return 3*v.lane + 1 }

// write draws the ladder: its title, what each column is, the marks, the
// heads and one line per step, notes wrapped beside empty lanes.
func (v *viewLayout) write(w io.Writer) {
	l := v.l
	say := func(first, s string) {
		lines := wrapLine(s, v.width-len(first))
		if v.width <= 0 {
			lines = []string{s}
		}
		for i, line := range lines {
			if i > 0 {
				first = strings.Repeat(" ", len(first))
			}
			fmt.Fprintln(w, first+line)
		}
	}
	fmt.Fprintln(w)
	say("", fmt.Sprintf("Across the two capture points: %s; %s", l.Title, l.Clock))
	for i, head := range l.Heads {
		say(fmt.Sprintf("%-6s = ", head), l.Keys[i])
	}
	say("", fmt.Sprintf("+ seen at a capture point; X lost after the point it stops at; * made between %s and %s, first seen where it starts; ? seen at one point only, its fate unknown", l.NearName, l.FarName))
	head := []rune(strings.Repeat(" ", v.ladderWidth()+v.lane))
	for i, name := range l.Heads {
		copy(head[i*v.lane:], []rune(name))
	}
	fmt.Fprintf(w, "%8s %8s %*s  %s\n", "at "+l.NearName, "at "+l.FarName, v.frame, "frames", strings.TrimRight(string(head), " "))
	for _, st := range v.steps {
		line := v.lanes()
		if st.Fold {
			v.row(w, "", "", "", string(line), "... "+st.Note)
			continue
		}
		note := st.Note
		if !drawViewArrow(line, st, v.lane) {
			note = joinNotes(st.Label, note)
		}
		v.row(w, l.since(st.AtNear), l.since(st.AtFar), st.Frames, string(line), note)
	}
	if l.Omitted > 0 {
		fmt.Fprintf(w, "(%d more packets not kept for this ladder)\n", l.Omitted)
	}
}

// lanes returns an empty ladder line: a bar on each lane.
func (v *viewLayout) lanes() []rune {
	line := []rune(strings.Repeat(" ", v.ladderWidth()))
	for i := range 4 {
		line[i*v.lane] = '|'
	}
	return line
}

// row writes one step, its note wrapped beside empty lanes.
func (v *viewLayout) row(w io.Writer, near, far, frames, ladder, note string) {
	lines := wrapLine(note, v.note)
	fmt.Fprintln(w, strings.TrimRight(fmt.Sprintf("%8s %8s %*s  %s  %s", near, far, v.frame, frames, ladder, lines[0]), " "))
	for _, more := range lines[1:] {
		fmt.Fprintf(w, "%8s %8s %*s  %s  %s\n", "", "", v.frame, "", string(v.lanes()), more)
	}
}

// drawViewArrow draws a step's arrow between its columns, lane columns
// apart: + where it crosses a capture point that saw it, ~ between the
// points when its payload was rewritten there, X or ? on the bar where it
// stops, * on the bar where it appeared, its label on it. It reports
// whether the whole label fitted.
func drawViewArrow(line []rune, st viewStep, lane int) bool {
	a, b := st.From*lane, st.To*lane
	lo, hi := min(a, b), max(a, b)
	for i := lo + 1; i < hi; i++ {
		line[i] = '-'
	}
	if st.Rewritten && lo <= colNear*lane && hi >= colFar*lane {
		for i := colNear*lane + 1; i < colFar*lane; i++ {
			line[i] = '~'
		}
	}
	for col := colNear; col <= colFar; col++ {
		if x := col * lane; x > lo && x < hi {
			line[x] = '+'
		}
	}
	if b > a {
		line[hi-1] = '>'
	} else {
		line[lo+1] = '<'
	}
	if st.End != endArrow {
		line[b] = st.End
	}
	if st.Start != 0 {
		line[a] = st.Start
	}
	label := []rune(" " + st.Label + " ")
	room := hi - lo - 6
	if room < 8 { // too short for a label worth reading
		return false
	}
	whole := len(label) <= room
	if !whole {
		label = append(label[:room-4], []rune("... ")...)
	}
	copy(line[lo+3:], label)
	return whole
}
