package report

import (
	"fmt"
	"strings"

	"github.com/jedib0t/go-pretty/v6/table"
)

// textTable is a table of the terminal report, fitted to the report's
// width before go-pretty draws it: columns wider than their share are
// wrapped at spaces (so an address, a port or a frame number stays whole
// while the column is at least as wide as it), file names are cut in the
// middle.
type textTable struct {
	header []string
	rows   [][]any
	// cut marks the columns shortened in the middle rather than wrapped.
	cut map[int]bool
	// paint colours each line of a column's cells (nil: none).
	paint map[int]func(string) string
}

// maxUnbroken is the widest word a column insists on keeping whole when
// the width is short: longer ones (a path, an argument) may be broken.
const maxUnbroken = 16

// minCut is the narrowest a middle-cut column is made.
const minCut = 20

// tableOverhead is what StyleLight adds to the text of cols columns: a
// rule and a space before each column, a space after it, a final rule.
func tableOverhead(cols int) int { return 3*cols + 1 }

// naturalWidths returns each column's width when nothing is wrapped.
func (tt *textTable) naturalWidths() []int {
	w := make([]int, len(tt.header))
	for i, h := range tt.header {
		w[i] = columns(h)
	}
	for _, r := range tt.rows {
		for i, c := range r {
			for _, line := range strings.Split(fmt.Sprint(c), "\n") {
				w[i] = max(w[i], columns(line))
			}
		}
	}
	return w
}

// fits reports whether the table drawn unwrapped fits width (0: always).
func (tt *textTable) fits(width int) bool {
	if width <= 0 {
		return true
	}
	total := tableOverhead(len(tt.header))
	for _, n := range tt.naturalWidths() {
		total += n
	}
	return total <= width
}

// minWidths returns each column's narrowest width: its longest word (up to
// maxUnbroken), or minCut for a middle-cut column.
func (tt *textTable) minWidths(natural []int) []int {
	w := make([]int, len(tt.header))
	for i, h := range tt.header {
		w[i] = longestWord(h)
	}
	for _, r := range tt.rows {
		for i, c := range r {
			if !tt.cut[i] {
				w[i] = max(w[i], min(longestWord(fmt.Sprint(c)), maxUnbroken))
			}
		}
	}
	for i := range w {
		if tt.cut[i] {
			w[i] = max(w[i], min(natural[i], minCut))
		}
		w[i] = min(w[i], natural[i])
	}
	return w
}

// widths shares width among the columns: each gets its narrowest width,
// and what remains goes to the columns in proportion to what wrapping
// takes from them.
func (tt *textTable) widths(width int) []int {
	natural := tt.naturalWidths()
	if tt.fits(width) {
		return natural
	}
	w := tt.minWidths(natural)
	room := width - tableOverhead(len(w))
	want := 0
	for i := range w {
		room -= w[i]
		want += natural[i] - w[i]
	}
	if room <= 0 || want == 0 {
		return w
	}
	given := 0
	for i := range w {
		extra := room * (natural[i] - w[i]) / want
		w[i] += extra
		given += extra
	}
	for i := 0; given < room && i < len(w); i++ {
		if w[i] < natural[i] {
			w[i]++
			given++
		}
	}
	return w
}

// fitted returns a cell's text wrapped or cut to width, each line painted.
func (tt *textTable) fitted(col int, v any, width int) any {
	s, ok := v.(string)
	if !ok {
		return v
	}
	var lines []string
	if tt.cut[col] {
		for _, l := range strings.Split(s, "\n") {
			lines = append(lines, cutMiddle(l, width))
		}
	} else {
		lines = wrapText(s, width)
	}
	for i := range lines {
		lines[i] = strings.ReplaceAll(lines[i], keep, " ")
		if p := tt.paint[col]; p != nil {
			lines[i] = p(lines[i])
		}
	}
	return strings.Join(lines, "\n")
}

// fill puts the table, fitted to width, into t.
func (tt *textTable) fill(t table.Writer, width int) {
	ws := tt.widths(width)
	head := make(table.Row, len(tt.header))
	for i, h := range tt.header {
		head[i] = tt.fitted(-1, h, ws[i])
	}
	t.AppendHeader(head)
	for _, r := range tt.rows {
		row := make(table.Row, len(r))
		for i, c := range r {
			row[i] = tt.fitted(i, c, ws[i])
		}
		t.AppendRow(row)
	}
}
