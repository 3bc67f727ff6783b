package ftpflow

import (
	"fmt"
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

// Locate says where the capture of c was taken, and why.
func (c *Conn) Locate() VantagePoint {
	tv, tw := c.ttlVantage()
	hv, hw := c.timing()
	return VantagePoint{Side: judgeVantage(tv, hv), Reason: tw + "; " + hw}
}
