package ftpflow

import (
	"fmt"
	"strings"
	"time"
)

// Vantage says where along the path a capture was taken.
type Vantage uint8

// The vantage points.
const (
	// VantageUnknown: the packets do not tell, or their signs disagree.
	VantageUnknown Vantage = iota
	// VantageClient: on the client's host or link (its packets not yet
	// routed; the SYN-ACK a round trip after the SYN, the ACK at once).
	VantageClient
	// VantageServer: on the server's host or link.
	VantageServer
	// VantageBetween: past at least one router from each side.
	VantageBetween
)

// String returns "client", "server", "between" or "unknown".
func (v Vantage) String() string {
	switch v {
	case VantageClient:
		return "client"
	case VantageServer:
		return "server"
	case VantageBetween:
		return "between"
	}
	return "unknown"
}

// MarshalText spells the vantage as String does.
func (v Vantage) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

// VantagePoint is where a capture was taken, with the reason in words.
type VantagePoint struct {
	Side   Vantage
	Reason string
}

// vantageMinDelay is the smallest round trip worth reasoning about.
const vantageMinDelay = time.Millisecond

// initialTTLs are the values operating systems start the IP TTL (IPv6
// hop limit) at: Linux, BSD and macOS 64, Windows 128, network gear 255.
var initialTTLs = [...]uint8{64, 128, 255}

// hopsFrom returns how many routers a packet arriving with ttl crossed,
// assuming the sender started at the nearest usual initial value above.
func hopsFrom(ttl uint8) (initial uint8, hops int) {
	for _, i := range initialTTLs {
		if ttl <= i {
			return i, int(i - ttl)
		}
	}
	return 255, 0
}

// timing estimates the vantage point from the spacing of the handshake:
// the side the capture is near answers or acknowledges at once, the far
// side a round trip later.
func (c *Conn) timing() (Vantage, string) {
	if len(c.SYNs) == 0 || !c.SYNACK.Seen() || !c.HandshakeACK.Seen() {
		return VantageUnknown, "no complete handshake"
	}
	toServer := c.SYNACK.Time.Sub(c.SYNs[len(c.SYNs)-1].Time)
	toClient := c.HandshakeACK.Time.Sub(c.SYNACK.Time)
	words := fmt.Sprintf("SYN-ACK %s after the SYN, ACK %s after the SYN-ACK", roundMS(toServer), roundMS(toClient))
	switch {
	case toServer >= vantageMinDelay && toServer > 4*toClient:
		return VantageClient, words
	case toClient >= vantageMinDelay && toClient > 4*toServer:
		return VantageServer, words
	}
	return VantageUnknown, words
}

func roundMS(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
}

// ttlVantage reads the vantage point from the TTLs: a side whose packets
// arrive at their initial TTL sent them from the capture's own link.
func (c *Conn) ttlVantage() (Vantage, string) {
	cl, sv := c.TTL[Client], c.TTL[Server]
	if !cl.Seen() || !sv.Seen() {
		return VantageUnknown, "no TTL from both sides"
	}
	if !cl.Steady() || !sv.Steady() {
		return VantageUnknown, fmt.Sprintf("TTLs vary (client %d-%d, server %d-%d): several capture points or paths", cl.Min, cl.Max, sv.Min, sv.Max)
	}
	ci, ch := hopsFrom(cl.Min)
	si, sh := hopsFrom(sv.Min)
	words := fmt.Sprintf("client packets arrive with TTL %d, %s; server packets with TTL %d, %s",
		cl.Min, hopWords(ci, ch), sv.Min, hopWords(si, sh))
	switch {
	case ch == 0 && sh > 0:
		return VantageClient, words
	case sh == 0 && ch > 0:
		return VantageServer, words
	case ch > 0 && sh > 0:
		return VantageBetween, words
	}
	return VantageUnknown, words + ": both on the capture's link, or one host"
}

func hopWords(initial uint8, hops int) string {
	if hops == 0 {
		return "as sent (not routed)"
	}
	return fmt.Sprintf("%d hop(s) from %d", hops, initial)
}

// judgeVantage combines the two signs: the TTLs decide when they can,
// the timing when they cannot; when they point to opposite ends, the
// answer is unknown (a wrong vantage point misleads more than none).
func judgeVantage(ttl, timing Vantage) Vantage {
	switch {
	case ttl == VantageUnknown:
		return timing
	case ttl == VantageBetween || timing == VantageUnknown || timing == ttl:
		return ttl
	}
	return VantageUnknown
}

// etherVantage reads the Ethernet addresses: when the client's and the
// server's packets were both put on the capture's link by the same
// interface, each towards a different next hop, neither host is on that
// link: a router between them forwards both directions, and the capture
// was taken between them. The same source and the same destination both
// ways is no real link's conversation (addresses rewritten by the capture
// or a crafted file) and says nothing; different sources, the usual case,
// say nothing of the side either.
func (c *Conn) etherVantage() (Vantage, string) {
	cl, sv := c.TTL[Client].Ether, c.TTL[Server].Ether
	if !cl.Steady() || !sv.Steady() || cl.Src != sv.Src {
		return VantageUnknown, ""
	}
	if cl.Dst == sv.Dst {
		return VantageUnknown, fmt.Sprintf("both directions carry Ethernet addresses %s > %s: rewritten or made up, they tell nothing", macString(cl.Src), macString(cl.Dst))
	}
	return VantageBetween, fmt.Sprintf("client and server packets both sent onto the capture's link by %s (to %s and %s): a router between them forwards both directions",
		macString(cl.Src), macString(cl.Dst), macString(sv.Dst))
}

func macString(a [6]byte) string {
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", a[0], a[1], a[2], a[3], a[4], a[5])
}

// lateSides reads who sent segments that reached the capture point after
// later ones: packets lost (and resent) or reordered before it. The
// capture was then not taken at their sender; when both sides' did, it was
// taken at neither end.
func (c *Conn) lateSides() (late [2]bool, words string) {
	var parts []string
	for _, side := range [...]Side{Client, Server} {
		t := c.TTL[side]
		if t.Late == 0 {
			continue
		}
		late[side] = true
		parts = append(parts, fmt.Sprintf("%d %s segment(s) reached the capture point after later ones (first: frame %d), so they were lost or reordered before it: not captured at the %s", t.Late, side, t.LateFrame.Frame, side))
	}
	return late, strings.Join(parts, "; ")
}

// signs holds what each kind of evidence says of the vantage point.
type signs struct {
	ttl, timing, ether Vantage
	// ttlLocal is set when some side's packets arrive at their initial
	// TTL (that side is on the capture's link): the capture cannot then be
	// between the two ends.
	ttlLocal bool
	// late says, per side, that its packets were lost or reordered
	// before the capture point.
	late [2]bool
}

// judge combines the signs. The TTLs and the timing decide (judgeVantage);
// the Ethernet addresses and the late segments only confirm their answer,
// contradict it (the answer is then unknown), or, when the TTLs and the
// timing say nothing at all, tell on their own that the capture was taken
// between the two ends.
func (g signs) judge() Vantage {
	v := judgeVantage(g.ttl, g.timing)
	between := g.ether == VantageBetween || g.late[Client] && g.late[Server]
	switch {
	case v == VantageClient && (between || g.late[Client]),
		v == VantageServer && (between || g.late[Server]):
		return VantageUnknown
	case v == VantageUnknown && between && g.ttl == VantageUnknown && g.timing == VantageUnknown && !g.ttlLocal:
		return VantageBetween
	}
	return v
}

// anyLocal reports whether some side's packets arrive at their initial
// TTL: that side sent them from the capture's own link.
func (c *Conn) anyLocal() bool {
	for _, t := range c.TTL {
		if !t.Seen() {
			continue
		}
		if _, h := hopsFrom(t.Max); h == 0 {
			return true
		}
	}
	return false
}

// Locate says where the capture of c was taken, and why.
func (c *Conn) Locate() VantagePoint {
	tv, tw := c.ttlVantage()
	hv, hw := c.timing()
	ev, ew := c.etherVantage()
	late, lw := c.lateSides()
	g := signs{ttl: tv, timing: hv, ether: ev, ttlLocal: c.anyLocal(), late: late}
	reason := tw + "; " + hw
	for _, w := range [...]string{ew, lw} {
		if w != "" {
			reason += "; " + w
		}
	}
	return VantagePoint{Side: g.judge(), Reason: reason}
}
