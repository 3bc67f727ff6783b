package analyze

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// frameKeys are the evidence keys that hold one frame number.
var frameKeys = []string{
	"offer_frame", "first_offer_frame", "command_frame", "request_frame", "accepted_frame",
	"syn_frame", "synack_frame", "rst_frame", "fin_frame", "previous_closed_frame",
	"first_data_frame", "last_data_frame", "first_tls_frame", "clear_again_frame", "session_end_frame",
}

// displayFilter derives a Wireshark display filter showing a finding's
// evidence: its frames, and every TCP conversation it names.
func displayFilter(ev map[string]any) string {
	var frames []int
	add := func(v any) {
		if n, ok := v.(int); ok && n > 0 {
			frames = append(frames, n)
		}
	}
	for _, k := range frameKeys {
		add(ev[k])
	}
	if fs, ok := ev["syn_frames"].([]int); ok {
		for _, f := range fs {
			add(f)
		}
	}
	for _, k := range []string{"reply", "server_reply"} {
		if m, ok := ev[k].(map[string]any); ok {
			add(m["frame"])
		}
	}
	if list, ok := ev["icmp_too_big"].([]map[string]any); ok {
		for _, m := range list {
			add(m["frame"])
		}
	}
	var parts []string
	if len(frames) > 0 {
		slices.Sort(frames)
		frames = slices.Compact(frames)
		if len(frames) == 1 {
			parts = append(parts, fmt.Sprintf("frame.number == %d", frames[0]))
		} else {
			s := make([]string, len(frames))
			for i, f := range frames {
				s[i] = fmt.Sprint(f)
			}
			parts = append(parts, "frame.number in {"+strings.Join(s, ", ")+"}")
		}
	}
	if a, b, ok := evidencePair(ev, "data_client", "data_server"); ok {
		parts = append(parts, conversationFilter(a, b))
	} else if t, ok := ev["tuple"].(string); ok {
		if x, y, found := strings.Cut(t, " > "); found {
			if a, err := netip.ParseAddrPort(x); err == nil {
				if b, err := netip.ParseAddrPort(y); err == nil {
					parts = append(parts, conversationFilter(a, b))
				}
			}
		}
	}
	return strings.Join(parts, " || ")
}

func evidencePair(ev map[string]any, ka, kb string) (netip.AddrPort, netip.AddrPort, bool) {
	sa, ok1 := ev[ka].(string)
	sb, ok2 := ev[kb].(string)
	if !ok1 || !ok2 {
		return netip.AddrPort{}, netip.AddrPort{}, false
	}
	a, err1 := netip.ParseAddrPort(sa)
	b, err2 := netip.ParseAddrPort(sb)
	return a, b, err1 == nil && err2 == nil
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
