package analyze

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// displayFilter derives a Wireshark display filter showing a finding's
// evidence: every frame it cites, and the TCP connection it names.
func displayFilter(r Refs) string {
	var parts []string
	if frames := r.frames(); len(frames) == 1 {
		parts = append(parts, fmt.Sprintf("frame.number == %d", frames[0]))
	} else if len(frames) > 1 {
		parts = append(parts, "frame.number in {"+strings.Join(setElements(frames), ", ")+"}")
	}
	if r.Conn.IsValid() {
		parts = append(parts, conversationFilter(r.Conn.Client, r.Conn.Server))
	}
	return strings.Join(parts, " || ")
}

// maxFilterFrames bounds the elements of a filter's set (frames, ports),
// so that the filter stays short enough to paste into Wireshark whatever
// a finding counts (its evidence keeps the counts).
const maxFilterFrames = 64

// setElements writes sorted numbers (frames, ports) as the elements of a
// Wireshark set, runs of consecutive numbers as ranges ("35..40"), at
// most maxFilterFrames elements: the first ones.
func setElements(sorted []int) []string {
	var set []string
	for i := 0; i < len(sorted) && len(set) < maxFilterFrames; {
		j := i
		for j+1 < len(sorted) && sorted[j+1] == sorted[j]+1 {
			j++
		}
		if j > i {
			set = append(set, fmt.Sprintf("%d..%d", sorted[i], sorted[j]))
		} else {
			set = append(set, fmt.Sprint(sorted[i]))
		}
		i = j + 1
	}
	return set
}

// hostsPortsFilter selects the TCP packets between two hosts with one of
// ports on either side: the data connections paired with a session by
// hosts and timing, in one term however many there are.
func hostsPortsFilter(a, b netip.Addr, ports []int) string {
	slices.Sort(ports)
	ports = slices.Compact(ports)
	field := "ip.addr"
	if a.Is6() {
		field = "ipv6.addr"
	}
	return fmt.Sprintf("(%s == %s && %s == %s && tcp.port in {%s})", field, a, field, b, strings.Join(setElements(ports), ", "))
}

// frames returns every frame the references cite, sorted, each once.
func (r Refs) frames() []int {
	all := []int{r.Offer.Frame, r.CommandFrame, r.RequestFrame, r.AcceptedFrame}
	all = append(all, r.ReplyFrames...)
	all = append(all, r.Frames...)
	all = append(all, r.ICMPFrames...)
	all = slices.DeleteFunc(all, func(f int) bool { return f <= 0 })
	slices.Sort(all)
	return slices.Compact(all)
}

// conversationFilter selects one TCP connection in both directions.
func conversationFilter(a, b netip.AddrPort) string {
	field := "ip.addr"
	if a.Addr().Is6() {
		field = "ipv6.addr"
	}
	if a.Addr() == b.Addr() {
		return fmt.Sprintf("(%s == %s && tcp.port == %d && tcp.port == %d)", field, a.Addr(), a.Port(), b.Port())
	}
	return fmt.Sprintf("(%s == %s && %s == %s && tcp.port == %d && tcp.port == %d)", field, a.Addr(), field, b.Addr(), a.Port(), b.Port())
}

// hostFilter selects the packets of one address.
func hostFilter(a netip.Addr) string {
	if a.Is6() {
		return "ipv6.addr == " + a.String()
	}
	return "ip.addr == " + a.String()
}
