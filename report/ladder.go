package report

import (
	"fmt"
	"io"
	"strings"

	"ftpdiag/analyze"
)

// laneWidth is the distance between two lanes of the text ladder.
const laneWidth = 44

// DefaultFold is the number of transfers beyond which a session's ladder
// folds uneventful ones.
const DefaultFold = 6

// WriteLadders writes, for each session, a ladder diagram in text: the
// hosts as columns, time running down, each step annotated in plain words,
// and the findings where they happen. It returns the first write error.
func WriteLadders(w io.Writer, a *analyze.Analysis, opt TimelineOptions) error {
	ew := &errWriter{w: w}
	for _, s := range a.Sessions {
		if ew.err != nil {
			break
		}
		tl := BuildTimeline(s, a.Findings, opt)
		v := s.Control.Locate()
		fmt.Fprintf(ew, "\nSession %d: client %s, server %s\nVantage: %s; %s\n\n", s.ID, s.Client, s.Server, v.Side, v.Reason)
		writeLadder(ew, tl)
	}
	return ew.err
}

func writeLadder(w io.Writer, tl *Timeline) {
	width := (len(tl.Lanes)-1)*laneWidth + 1
	head := []rune(strings.Repeat(" ", width+laneWidth))
	for i, name := range tl.Lanes {
		copy(head[i*laneWidth:], []rune(name))
	}
	fmt.Fprintf(w, "%8s %6s  %s\n", "time", "frame", strings.TrimRight(string(head), " "))
	for _, st := range tl.Steps {
		line := []rune(strings.Repeat(" ", width))
		for i := range tl.Lanes {
			line[i*laneWidth] = '|'
		}
		if st.Kind == StepFold {
			fmt.Fprintf(w, "%8s %6s  %s  ... %s\n", "", "", string(line), st.Note)
			continue
		}
		if st.From != st.To {
			drawArrow(line, st)
		}
		note := st.Note
		if len(st.Findings) > 0 {
			if note != "" {
				note += "  "
			}
			note += "<== " + strings.Join(st.Findings, ", ")
		}
		frame := fmt.Sprint(st.At.Frame)
		if st.Until.Frame > st.At.Frame {
			frame = fmt.Sprintf("%d-%d", st.At.Frame, st.Until.Frame)
		}
		fmt.Fprintf(w, "%+8.3f %6s  %s  %s\n", st.At.Time.Sub(tl.Start).Seconds(), frame, string(line), note)
	}
}

// drawArrow draws a step's arrow between its lanes, the label on it; a
// failed step ends in X instead of an arrowhead.
func drawArrow(line []rune, st Step) {
	a, b := st.From*laneWidth, st.To*laneWidth
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
		return
	}
	if len(label) > room {
		label = append(label[:room-4], []rune("... ")...)
	}
	start := lo + 3
	copy(line[start:], label)
}
