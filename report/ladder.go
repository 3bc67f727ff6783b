package report

import (
	"fmt"
	"io"
	"strings"

	"ftpdiag/analyze"
)

// laneWidth is the distance between two lanes of the text ladder when the
// width is not limited.
const laneWidth = 44

// The bounds of a ladder fitted to a width: its lanes come no closer than
// minLane columns, and its notes get at least minNote columns.
const (
	minLane = 12
	minNote = 30
)

// DefaultFold is the number of transfers beyond which a session's ladder
// folds uneventful ones.
const DefaultFold = 6

// WriteLadders writes, for each session, a ladder diagram in text: the
// hosts as columns, time running down, each step annotated in plain words,
// and the findings where they happen. It returns the first write error.
func WriteLadders(w io.Writer, a *analyze.Analysis, opt TimelineOptions) error {
	return writeLadders(w, a, opt, 0)
}

// writeLadders writes the ladders fitted to width (0: no limit).
func writeLadders(w io.Writer, a *analyze.Analysis, opt TimelineOptions, width int) error {
	ew := &errWriter{w: w}
	for _, s := range a.Sessions {
		if ew.err != nil {
			break
		}
		tl := BuildTimeline(s, a.Findings, opt)
		v := s.Control.Locate()
		fmt.Fprintf(ew, "\nSession %d: client %s, server %s\n", s.ID, s.Client, s.Server)
		for _, line := range wrapLine(fmt.Sprintf("Vantage: %s; %s", v.Side, v.Reason), width) {
			fmt.Fprintln(ew, line)
		}
		fmt.Fprintln(ew)
		newLadder(tl, width, opt.All).write(ew)
	}
	return ew.err
}

// ladderLayout is how one ladder is drawn: where its lanes are, what
// heads them, how wide its notes may be.
type ladderLayout struct {
	tl     *Timeline
	steps  []Step
	lane   int      // columns between two lanes
	heads  []string // the lanes' names, or letters with legend
	legend []string
	note   int // the notes' width (0: unlimited)
	frame  int // the frame column's width
}

// newLadder lays a timeline out for width: with the hosts' addresses over
// lanes 44 columns apart when it fits, else with letters explained in a
// legend, closer lanes and notes wrapped to what remains.
func newLadder(tl *Timeline, width int, all bool) *ladderLayout {
	l := &ladderLayout{tl: tl, steps: tl.Steps, lane: laneWidth, heads: tl.Lanes, frame: 6}
	if !all {
		l.steps = capSteps(tl.Steps, MaxLadderSteps)
	}
	for _, st := range l.steps {
		l.frame = max(l.frame, len(frameWords(st)))
	}
	if width <= 0 || l.naturalWidth() <= width {
		return l
	}
	prefix := 8 + 1 + l.frame + 2
	if n := len(tl.Lanes) - 1; n > 0 {
		l.lane = min(laneWidth, max(minLane, (width-prefix-1-2-minNote)/n))
	}
	l.note = max(width-prefix-l.ladderWidth()-2, 16)
	l.heads = make([]string, len(tl.Lanes))
	for i, name := range tl.Lanes {
		l.heads[i] = letters(i)
		l.legend = append(l.legend, wrapLine(fmt.Sprintf("%s = %s%s", letters(i), name, tl.laneRole(i)), width)...)
	}
	return l
}

// laneRole says what a lane's host is in the session, for the legend.
func (tl *Timeline) laneRole(i int) string {
	switch {
	case tl.Lanes[i] == otherHosts:
		return " (data connections to hosts past the first " + fmt.Sprint(MaxLanes-3) + ")"
	case i == 0 && tl.Session != nil:
		return fmt.Sprintf(" port %d (FTP client)", tl.Session.Client.Port())
	case i == 1 && tl.Session != nil:
		return fmt.Sprintf(" port %d (FTP server)", tl.Session.Server.Port())
	}
	return " (data connections only)"
}

func (l *ladderLayout) ladderWidth() int { return (len(l.tl.Lanes)-1)*l.lane + 1 }

// naturalWidth is the widest line of the ladder drawn without limit.
func (l *ladderLayout) naturalWidth() int {
	n := 8 + 1 + l.frame + 2 + (len(l.tl.Lanes)-1)*laneWidth + columns(l.tl.Lanes[len(l.tl.Lanes)-1])
	for _, st := range l.steps {
		n = max(n, 8+1+l.frame+2+l.ladderWidth()+2+columns(noteWords(st)))
	}
	return n
}

func (l *ladderLayout) write(w io.Writer) {
	for _, line := range l.legend {
		fmt.Fprintln(w, line)
	}
	head := []rune(strings.Repeat(" ", l.ladderWidth()+l.lane))
	for i, name := range l.heads {
		copy(head[i*l.lane:], []rune(name))
	}
	fmt.Fprintf(w, "%8s %*s  %s\n", "time", l.frame, "frame", strings.TrimRight(string(head), " "))
	for _, st := range l.steps {
		line := l.lanes()
		note := noteWords(st)
		if st.Kind == StepFold {
			l.writeNote(w, "", "", string(line), "... "+st.Note)
			continue
		}
		if st.From != st.To && !drawArrow(line, st, l.lane) && l.note > 0 && st.Conn != 0 {
			note = strings.TrimSpace(st.Label + ": " + note)
		}
		l.writeNote(w, fmt.Sprintf("%+8.3f", st.At.Time.Sub(l.tl.Start).Seconds()), frameWords(st), string(line), note)
	}
}

// lanes returns an empty ladder line: a bar on each lane.
func (l *ladderLayout) lanes() []rune {
	line := []rune(strings.Repeat(" ", l.ladderWidth()))
	for i := range l.tl.Lanes {
		line[i*l.lane] = '|'
	}
	return line
}

// writeNote writes one step, its note wrapped beside empty lanes.
func (l *ladderLayout) writeNote(w io.Writer, at, frame, ladder, note string) {
	lines := wrapLine(note, l.note)
	fmt.Fprintf(w, "%8s %*s  %s  %s\n", at, l.frame, frame, ladder, lines[0])
	for _, more := range lines[1:] {
		fmt.Fprintf(w, "%8s %*s  %s  %s\n", "", l.frame, "", string(l.lanes()), more)
	}
}

// noteWords is a step's note with the findings shown at it.
func noteWords(st Step) string {
	note := st.Note
	if st.Kind == StepFold {
		return "... " + note
	}
	if len(st.Findings) > 0 {
		if note != "" {
			note += "  "
		}
		note += "<== " + strings.Join(st.Findings, ", ")
	}
	return note
}

// frameWords is the frame, or frames, a step shows.
func frameWords(st Step) string {
	if st.Kind == StepFold {
		return ""
	}
	if st.Until.Frame > st.At.Frame {
		return fmt.Sprintf("%d-%d", st.At.Frame, st.Until.Frame)
	}
	return fmt.Sprint(st.At.Frame)
}

// drawArrow draws a step's arrow between its lanes, lane columns apart,
// the label on it; a failed step ends in X instead of an arrowhead. It
// reports whether the whole label fitted on the arrow.
func drawArrow(line []rune, st Step, lane int) bool {
	a, b := st.From*lane, st.To*lane
	lo, hi := min(a, b), max(a, b)
	for i := lo + 1; i < hi; i++ {
		line[i] = '-'
	}
	head := '>'
	if b < a {
		head = '<'
	}
	if st.Kind == StepFailed {
		head = 'X'
	}
	if b > a {
		line[hi-1] = head
	} else {
		line[lo+1] = head
	}
	label := []rune(" " + st.Label + " ")
	room := hi - lo - 6
	if room < 4 {
		return false
	}
	whole := len(label) <= room
	if !whole {
		label = append(label[:room-4], []rune("... ")...)
	}
	copy(line[lo+3:], label)
	return whole
}
