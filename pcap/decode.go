package pcap

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Kind says what the decoder found in a packet.
type Kind uint8

// The kinds of packet the decoder reports.
const (
	// KindOther is anything that is neither TCP nor a relevant ICMP error.
	KindOther Kind = iota
	// KindTCP is a TCP segment; Decoded.TCP holds its header.
	KindTCP
	// KindTooBig is an ICMP "fragmentation needed" (IPv4) or "packet too
	// big" (IPv6) error quoting a TCP segment.
	KindTooBig
	// KindFragment is an IPv4 or IPv6 fragment, counted but not reassembled.
	KindFragment
	// KindMalformed is a packet whose headers are cut or lie about their
	// lengths; Decoded.Problem says how.
	KindMalformed
	// KindUnsupportedLink is a packet of a link type the decoder does not
	// handle.
	KindUnsupportedLink
	// KindUndecoded is a frame whose link layer names a protocol no
	// decoder knows (an unknown EtherType): it may carry IP, and TCP in
	// it, that the analysis never sees. Decoded.Problem names it. Known
	// protocols that carry no IP (ARP, LLDP, STP) are KindOther.
	KindUndecoded
)

// Decoded is the network and transport summary of one packet. Its fields
// alias the Decoder's layers and die at the next Decode call.
type Decoded struct {
	Kind Kind
	// Src and Dst are the innermost IP addresses.
	Src, Dst netip.Addr
	// NetFlow is the innermost IP layer's flow, as the reassembler wants it.
	NetFlow gopacket.Flow
	// TCP is the decoded TCP header and captured payload (KindTCP).
	TCP *TCP
	// PayloadLen is the TCP payload length on the wire, from the IP length
	// fields, so a segment cut by the snapshot length still counts in full.
	PayloadLen int
	// IPID is the IPv4 identification field (0 for IPv6), used to tell a
	// capture-duplicated packet from a retransmission.
	IPID uint16
	// MTU is the next-hop MTU announced by a KindTooBig error.
	MTU int
	// Quoted is the TCP endpoint pair of the segment a KindTooBig error
	// quotes: the sender of the too-big segment and its destination.
	QuotedSrc, QuotedDst netip.AddrPort
	// Problem describes a KindMalformed or KindUnsupportedLink packet.
	Problem string
}

// Decoder turns captured frames into Decoded summaries with gopacket's
// DecodingLayerParser. It keeps one parser per link type, all sharing the
// same preallocated layers, so decoding allocates nothing per packet. A
// Decoder is not safe for concurrent use.
type Decoder struct {
	eth    layers.Ethernet
	dot1q  layers.Dot1Q
	sll    layers.LinuxSLL
	sll2   layers.LinuxSLL2
	loop   layers.Loopback
	mpls   mplsStack
	pppoe  pppoeSession
	gre    layers.GRE
	ip4    layers.IPv4
	ip6    layers.IPv6
	ip6ext layers.IPv6ExtensionSkipper
	tcp    TCP
	icmp4  layers.ICMPv4
	icmp6  layers.ICMPv6
	parser map[gopacket.LayerType]*gopacket.DecodingLayerParser
	// last and lastType cache the parser of the previous packet's link
	// type: captures rarely mix link types.
	last     *gopacket.DecodingLayerParser
	lastType layers.LinkType
	types    []gopacket.LayerType
	out      Decoded
	// parserOnly turns fastTCP off, for tests comparing the two paths.
	parserOnly bool
}

// NewDecoder returns a Decoder ready for any supported link type.
func NewDecoder() *Decoder {
	return &Decoder{
		parser: make(map[gopacket.LayerType]*gopacket.DecodingLayerParser),
		types:  make([]gopacket.LayerType, 0, 16),
	}
}

// firstLayer maps a capture link type to the layer decoding starts with.
func firstLayer(lt layers.LinkType, data []byte) (gopacket.LayerType, bool) {
	switch lt {
	case layers.LinkTypeEthernet:
		return layers.LayerTypeEthernet, true
	case layers.LinkTypeLinuxSLL:
		return layers.LayerTypeLinuxSLL, true
	case layers.LinkTypeLinuxSLL2:
		return layers.LayerTypeLinuxSLL2, true
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		return layers.LayerTypeLoopback, true
	case layers.LinkTypeIPv4:
		return layers.LayerTypeIPv4, true
	case layers.LinkTypeIPv6:
		return layers.LayerTypeIPv6, true
	case layers.LinkTypeRaw, 12, 14: // DLT_RAW has had several numbers
		if len(data) > 0 && data[0]>>4 == 6 {
			return layers.LayerTypeIPv6, true
		}
		return layers.LayerTypeIPv4, true
	}
	return gopacket.LayerTypeZero, false
}

// isRaw reports whether a link type's first layer depends on the packet
// (raw IP: version 4 or 6).
func isRaw(lt layers.LinkType) bool {
	return lt == layers.LinkTypeRaw || lt == 12 || lt == 14
}

// SupportedLinkType reports whether the decoder understands a link type.
func SupportedLinkType(lt layers.LinkType) bool {
	_, ok := firstLayer(lt, nil)
	return ok
}

func (d *Decoder) parserFor(first gopacket.LayerType) *gopacket.DecodingLayerParser {
	if p, ok := d.parser[first]; ok {
		return p
	}
	p := gopacket.NewDecodingLayerParser(first)
	// A sparse array finds each layer's decoder without a map lookup.
	p.SetDecodingLayerContainer(gopacket.DecodingLayerSparse(nil))
	for _, l := range []gopacket.DecodingLayer{&d.eth, &d.dot1q, &d.sll, &d.sll2, &d.loop, &d.mpls, &d.pppoe, &d.gre,
		&d.ip4, &d.ip6, &d.ip6ext, &d.tcp, &d.icmp4, &d.icmp6} {
		p.AddDecodingLayer(l)
	}
	p.IgnoreUnsupported = true
	d.parser[first] = p
	return p
}

// unknownNext says whether the last link layer decoded names a protocol
// no decoder knows (gopacket gives such an EtherType no layer type), and
// which.
func (d *Decoder) unknownNext() (what string, unknown bool) {
	if len(d.types) == 0 {
		return "", false
	}
	var next gopacket.LayerType
	switch d.types[len(d.types)-1] {
	case layers.LayerTypeEthernet:
		next, what = d.eth.NextLayerType(), fmt.Sprintf("EtherType 0x%04x", uint16(d.eth.EthernetType))
	case layers.LayerTypeDot1Q:
		next, what = d.dot1q.NextLayerType(), fmt.Sprintf("EtherType 0x%04x after a VLAN tag", uint16(d.dot1q.Type))
	case layers.LayerTypeLinuxSLL:
		next, what = d.sll.NextLayerType(), fmt.Sprintf("protocol 0x%04x (Linux cooked capture)", uint16(d.sll.EthernetType))
	default:
		return "", false
	}
	return what, next == gopacket.LayerTypeZero
}

// Decode summarises one packet. The result is valid until the next call.
func (d *Decoder) Decode(p *Packet) *Decoded {
	out := &d.out
	*out = Decoded{}
	if p.LinkType == layers.LinkTypeEthernet && !d.parserOnly && d.fastTCP(p.Data, out) {
		return out
	}
	parser := d.last
	if parser == nil || p.LinkType != d.lastType || isRaw(p.LinkType) {
		first, ok := firstLayer(p.LinkType, p.Data)
		if !ok {
			out.Kind = KindUnsupportedLink
			out.Problem = fmt.Sprintf("unsupported link type %d (%s)", int(p.LinkType), p.LinkType)
			return out
		}
		parser = d.parserFor(first)
		d.last, d.lastType = parser, p.LinkType
	}
	err := parser.DecodeLayers(p.Data, &d.types)

	// Find the innermost IP layer and what follows it. A tunnel (6in4,
	// GRE) decodes two IP layers; the inner one names the conversation.
	// IPv6 extension headers lie between the IP layer and TCP; a fragment
	// header among them makes the packet a fragment.
	var ipLayer gopacket.LayerType
	var sawTCP, sawICMP, sawFragment bool
	for _, t := range d.types {
		switch t {
		case layers.LayerTypeIPv4, layers.LayerTypeIPv6:
			ipLayer = t
			sawTCP, sawICMP, sawFragment = false, false, false
		case layers.LayerTypeIPv6Fragment:
			sawFragment = true
		case layers.LayerTypeTCP:
			sawTCP = true
		case layers.LayerTypeICMPv4, layers.LayerTypeICMPv6:
			sawICMP = true
		}
	}
	if ipLayer == gopacket.LayerTypeZero {
		if err != nil {
			out.Kind = KindMalformed
			out.Problem = "link or IP header: " + err.Error()
		} else if what, unknown := d.unknownNext(); unknown {
			out.Kind = KindUndecoded
			out.Problem = what
		}
		return out
	}
	ipPayloadWire := 0
	switch ipLayer {
	case layers.LayerTypeIPv4:
		out.Src = addr4(d.ip4.SrcIP)
		out.Dst = addr4(d.ip4.DstIP)
		out.NetFlow = d.ip4.NetworkFlow()
		out.IPID = d.ip4.Id
		if d.ip4.Flags&layers.IPv4MoreFragments != 0 || d.ip4.FragOffset != 0 {
			out.Kind = KindFragment
			return out
		}
		ipPayloadWire = int(d.ip4.Length) - int(d.ip4.IHL)*4
	case layers.LayerTypeIPv6:
		out.Src = addr16(d.ip6.SrcIP)
		out.Dst = addr16(d.ip6.DstIP)
		out.NetFlow = d.ip6.NetworkFlow()
		if d.ip6.NextHeader == layers.IPProtocolIPv6Fragment || sawFragment {
			out.Kind = KindFragment
			return out
		}
		ipPayloadWire = int(d.ip6.Length)
		if d.ip6.HopByHop != nil {
			// gopacket's IPv6 layer reads a hop-by-hop header itself and
			// starts its payload after it.
			ipPayloadWire -= d.ip6.HopByHop.ActualLength
		}
		if d.ip6.Length == 0 { // jumbogram or TSO: trust the capture
			ipPayloadWire = len(d.ip6.Payload)
		}
	}
	switch {
	case sawTCP:
		out.Kind = KindTCP
		out.TCP = &d.tcp
		// Bytes between the end of the fixed IP header and the TCP header
		// (IPv6 extension headers) come out of the IP payload length.
		var ipPayloadCaptured int
		if ipLayer == layers.LayerTypeIPv4 {
			ipPayloadCaptured = len(d.ip4.Payload)
		} else {
			ipPayloadCaptured = len(d.ip6.Payload)
		}
		ext := ipPayloadCaptured - len(d.tcp.segment)
		if ext < 0 {
			ext = 0
		}
		out.PayloadLen = ipPayloadWire - ext - d.tcp.HeaderLen()
		if out.PayloadLen < len(d.tcp.Payload) {
			out.PayloadLen = len(d.tcp.Payload)
		}
	case sawICMP:
		d.decodeTooBig(ipLayer, out)
	case err != nil:
		out.Kind = KindMalformed
		out.Problem = "transport header: " + err.Error()
	}
	return out
}

// fastTCP decodes the commonest frame, Ethernet then IPv4 without options
// or IPv6 without extension headers, then TCP, whole and unfragmented,
// without gopacket's layer parser, and fills out exactly as the parser's
// path does. It reports false, leaving out as it was, for any other frame
// (a VLAN tag, a cut or inconsistent header, a fragment, another
// protocol), which the parser then decodes.
func (d *Decoder) fastTCP(data []byte, out *Decoded) bool {
	if len(data) < 14+20 {
		return false
	}
	ip := data[14:]
	switch binary.BigEndian.Uint16(data[12:14]) {
	case uint16(layers.EthernetTypeIPv4):
		// Version 4, a 20-byte header, a total length that the capture
		// holds and that leaves room for the header, not a fragment, TCP.
		n := int(binary.BigEndian.Uint16(ip[2:4]))
		if ip[0] != 0x45 || n < 20 || n > len(ip) || binary.BigEndian.Uint16(ip[6:8])&0x3fff != 0 || ip[9] != byte(layers.IPProtocolTCP) {
			return false
		}
		if d.tcp.DecodeFromBytes(ip[20:n], gopacket.NilDecodeFeedback) != nil {
			return false
		}
		out.Src = netip.AddrFrom4([4]byte(ip[12:16]))
		out.Dst = netip.AddrFrom4([4]byte(ip[16:20]))
		out.NetFlow = gopacket.NewFlow(layers.EndpointIPv4, ip[12:16], ip[16:20])
		out.IPID = binary.BigEndian.Uint16(ip[4:6])
		out.PayloadLen = n - 20 - d.tcp.HeaderLen()
	case uint16(layers.EthernetTypeIPv6):
		// Version 6, TCP next, a payload length (not a jumbogram) that
		// the capture holds.
		if len(ip) < 40+20 || ip[0]>>4 != 6 || ip[6] != byte(layers.IPProtocolTCP) {
			return false
		}
		n := int(binary.BigEndian.Uint16(ip[4:6]))
		if n == 0 || 40+n > len(ip) {
			return false
		}
		if d.tcp.DecodeFromBytes(ip[40:40+n], gopacket.NilDecodeFeedback) != nil {
			return false
		}
		out.Src = netip.AddrFrom16([16]byte(ip[8:24]))
		out.Dst = netip.AddrFrom16([16]byte(ip[24:40]))
		out.NetFlow = gopacket.NewFlow(layers.EndpointIPv6, ip[8:24], ip[24:40])
		out.PayloadLen = n - d.tcp.HeaderLen()
	default:
		return false
	}
	out.Kind = KindTCP
	out.TCP = &d.tcp
	out.PayloadLen = max(out.PayloadLen, len(d.tcp.Payload))
	return true
}

// decodeTooBig recognises ICMP "fragmentation needed" and ICMPv6 "packet
// too big" and extracts the quoted TCP endpoints.
func (d *Decoder) decodeTooBig(ipLayer gopacket.LayerType, out *Decoded) {
	var quoted []byte
	if ipLayer == layers.LayerTypeIPv4 {
		if d.icmp4.TypeCode != layers.CreateICMPv4TypeCode(layers.ICMPv4TypeDestinationUnreachable, layers.ICMPv4CodeFragmentationNeeded) {
			return
		}
		// The next-hop MTU sits in the low 16 bits of the rest-of-header word.
		out.MTU = int(d.icmp4.Seq)
		quoted = d.icmp4.Payload
	} else {
		if d.icmp6.TypeCode.Type() != layers.ICMPv6TypePacketTooBig {
			return
		}
		if len(d.icmp6.Payload) < 4 {
			return
		}
		out.MTU = int(binary.BigEndian.Uint32(d.icmp6.Payload[:4]))
		quoted = d.icmp6.Payload[4:]
	}
	src, dst, ok := quotedTCP(quoted)
	if !ok {
		return
	}
	out.Kind = KindTooBig
	out.QuotedSrc, out.QuotedDst = src, dst
}

// quotedTCP reads the addresses and ports of the IP+TCP header an ICMP
// error quotes (only the first 8 bytes of TCP are guaranteed).
func quotedTCP(b []byte) (src, dst netip.AddrPort, ok bool) {
	if len(b) < 1 {
		return src, dst, false
	}
	switch b[0] >> 4 {
	case 4:
		ihl := int(b[0]&0x0f) * 4
		if ihl < 20 || len(b) < ihl+4 || b[9] != byte(layers.IPProtocolTCP) {
			return src, dst, false
		}
		s := netip.AddrFrom4([4]byte(b[12:16]))
		t := netip.AddrFrom4([4]byte(b[16:20]))
		return netip.AddrPortFrom(s, binary.BigEndian.Uint16(b[ihl:])),
			netip.AddrPortFrom(t, binary.BigEndian.Uint16(b[ihl+2:])), true
	case 6:
		if len(b) < 44 || b[6] != byte(layers.IPProtocolTCP) {
			return src, dst, false
		}
		s := netip.AddrFrom16([16]byte(b[8:24]))
		t := netip.AddrFrom16([16]byte(b[24:40]))
		return netip.AddrPortFrom(s, binary.BigEndian.Uint16(b[40:])),
			netip.AddrPortFrom(t, binary.BigEndian.Uint16(b[42:])), true
	}
	return src, dst, false
}

func addr4(ip []byte) netip.Addr {
	if len(ip) == 4 {
		return netip.AddrFrom4([4]byte(ip))
	}
	a, _ := netip.AddrFromSlice(ip)
	return a.Unmap()
}

func addr16(ip []byte) netip.Addr {
	if len(ip) == 16 {
		return netip.AddrFrom16([16]byte(ip))
	}
	a, _ := netip.AddrFromSlice(ip)
	return a
}
