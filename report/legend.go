package report

import (
	"net/netip"
	"strconv"
	"strings"
)

// hostLegend names hosts by letters (A, B, ... Z, AA...) where the width
// is too short for their addresses, and lists what each letter stands for.
type hostLegend struct {
	letter map[string]string
	order  []string // addresses, in the order they were named
	shown  int      // how many of them a legend line has listed
}

func newHostLegend() *hostLegend { return &hostLegend{letter: map[string]string{}} }

// host returns the letter of an address, naming it on first use.
func (l *hostLegend) host(addr string) string {
	if n, ok := l.letter[addr]; ok {
		return n
	}
	n := letters(len(l.order))
	l.letter[addr] = n
	l.order = append(l.order, addr)
	return n
}

// endpoint shortens "198.51.100.10:34206" or "[2001:db8::10]:50122" to
// "A:34206"; text that is no endpoint is returned as it is.
func (l *hostLegend) endpoint(s string) string {
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return s
	}
	return l.host(ap.Addr().String()) + ":" + strconv.Itoa(int(ap.Port()))
}

// lines lists the letters named since the last call, "Hosts: A =
// 198.51.100.10, B = ...", wrapped to width between entries, never inside
// one (none when no letter is new).
func (l *hostLegend) lines(width int) []string {
	var parts []string
	for _, a := range l.order[l.shown:] {
		parts = append(parts, l.letter[a]+" = "+a)
	}
	if len(parts) == 0 {
		return nil
	}
	l.shown = len(l.order)
	return packParts("Hosts: ", parts, width)
}

// packParts joins parts with ", " after prefix, starting a new line
// (indented like the first) where the next part would pass width.
func packParts(prefix string, parts []string, width int) []string {
	var lines []string
	cur := prefix
	pad := strings.Repeat(" ", columns(prefix))
	for i, p := range parts {
		if i < len(parts)-1 {
			p += ","
		}
		switch {
		case i == 0:
			cur += p
		case width > 0 && columns(cur)+1+columns(p) > width:
			lines = append(lines, cur)
			cur = pad + p
		default:
			cur += " " + p
		}
	}
	return append(lines, cur)
}

// letters names the i-th host: A..Z, then AA, AB...
func letters(i int) string {
	s := ""
	for {
		s = string(rune('A'+i%26)) + s
		i = i/26 - 1
		if i < 0 {
			return s
		}
	}
}
