package report

import (
	"io"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/term"
)

// DefaultWidth is the width a text report fits when it is not written to
// a terminal and neither --width nor COLUMNS says otherwise.
const DefaultWidth = 100

// minWidth is the narrowest width honoured: below it, the report would be
// all wrapping and no content.
const minWidth = 40

// Width returns the number of columns a text report written to w should
// fit: flag when it is 0 or more (0: no limit); else COLUMNS when it is a
// number; else the terminal's width when w is one; else DefaultWidth.
func Width(w io.Writer, flag int) int {
	if flag >= 0 {
		return atLeast(flag)
	}
	if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n > 0 {
		return atLeast(n)
	}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		if n, _, err := term.GetSize(int(f.Fd())); err == nil && n > 0 {
			return atLeast(n)
		}
	}
	return DefaultWidth
}

func atLeast(n int) int {
	if n == 0 {
		return 0
	}
	return max(n, minWidth)
}

// columns is the number of columns s takes (one per rune: capture text
// reaches the report through Clean, so it holds no control character).
func columns(s string) int { return utf8.RuneCountInString(s) }

// keep joins words that wrapping must not part ("offer 14"): it is a
// no-break space while wrapping, a space in the output.
const keep = "\u00a0"

// words splits text at spaces, not at keep.
func words(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '\t' })
}

// wrapLine breaks one line of text into lines of at most width columns at
// spaces (not at keep); a word longer than width is broken after a separator ("_", "/",
// "-", ".", ":", ",") where it can be, else where it must. width <= 0
// leaves the line whole.
func wrapLine(s string, width int) []string {
	if width <= 0 || columns(s) <= width {
		return []string{s}
	}
	var lines []string
	cur := ""
	for _, word := range words(s) {
		switch {
		case cur == "":
		case columns(cur)+1+columns(word) <= width:
			cur += " " + word
			continue
		default:
			lines = append(lines, cur)
		}
		for columns(word) > width {
			head, rest := breakWord(word, width)
			lines = append(lines, head)
			word = rest
		}
		cur = word
	}
	if cur != "" || len(lines) == 0 {
		lines = append(lines, cur)
	}
	return lines
}

// breakWord cuts a word longer than width after its last slash within
// width (but not in its first third), else after its last other
// separator, else at width.
func breakWord(word string, width int) (string, string) {
	r := []rune(word)
	for _, seps := range []string{"/", "_-.:,"} {
		for i := width - 1; i >= width/3; i-- {
			if strings.ContainsRune(seps, r[i]) {
				return string(r[:i+1]), string(r[i+1:])
			}
		}
	}
	return string(r[:width]), string(r[width:])
}

// wrapText breaks every line of s (a cell may hold several) with wrapLine.
func wrapText(s string, width int) []string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		out = append(out, wrapLine(line, width)...)
	}
	return out
}

// cutMiddle shortens s to width columns by replacing its middle with an
// ellipsis, keeping a third for the start and the rest for the end, where
// names differ (two files of a ring buffer differ by their last digits).
func cutMiddle(s string, width int) string {
	r := []rune(s)
	if width <= 0 || len(r) <= width {
		return s
	}
	if width < 3 {
		return string(r[:width])
	}
	head := (width - 1) / 3
	tail := width - 1 - head
	return string(r[:head]) + "…" + string(r[len(r)-tail:])
}

// longestWord returns the width of the longest space-separated word of s.
func longestWord(s string) int {
	n := 0
	for _, w := range words(s) {
		n = max(n, columns(w))
	}
	return n
}
