package pcap

import (
	"encoding/binary"
	"errors"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// The encapsulations below are skipped to reach the IP packet inside.
// gopacket has layers for them, but not as DecodingLayers, which the fast
// parser needs; these read only what leads to the next header.

// mplsStack skips an MPLS label stack (RFC 3032) to the packet below the
// entry with the bottom-of-stack bit. MPLS does not say what it carries:
// the first nibble tells IPv4 from IPv6, as routers and Wireshark guess.
type mplsStack struct {
	layers.BaseLayer
	next gopacket.LayerType
}

// maxMPLSLabels bounds the label stack read (real stacks hold a few).
const maxMPLSLabels = 16

var (
	errShortMPLS  = errors.New("MPLS label stack cut short")
	errShortPPPoE = errors.New("PPPoE session header cut short")
)

// DecodeFromBytes implements gopacket.DecodingLayer.
func (m *mplsStack) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	for i := 0; i < maxMPLSLabels; i++ {
		off := 4 * i
		if len(data) < off+4 {
			break
		}
		if data[off+2]&0x01 == 0 { // not the bottom of the stack
			continue
		}
		m.BaseLayer = layers.BaseLayer{Contents: data[:off+4], Payload: data[off+4:]}
		m.next = guessIP(m.Payload)
		return nil
	}
	df.SetTruncated()
	return errShortMPLS
}

// CanDecode implements gopacket.DecodingLayer.
func (m *mplsStack) CanDecode() gopacket.LayerClass { return layers.LayerTypeMPLS }

// NextLayerType implements gopacket.DecodingLayer.
func (m *mplsStack) NextLayerType() gopacket.LayerType { return m.next }

// guessIP names the IP version a packet starts with, or none.
func guessIP(b []byte) gopacket.LayerType {
	if len(b) == 0 {
		return gopacket.LayerTypeZero
	}
	switch b[0] >> 4 {
	case 4:
		return layers.LayerTypeIPv4
	case 6:
		return layers.LayerTypeIPv6
	}
	return gopacket.LayerTypeZero
}

// pppoeSession skips a PPPoE session header (RFC 2516) and the PPP
// protocol field after it to the IPv4 or IPv6 packet it carries.
type pppoeSession struct {
	layers.BaseLayer
	next gopacket.LayerType
}

// The PPP protocol numbers of IP (RFC 1332, RFC 5072).
const (
	pppIPv4 = 0x0021
	pppIPv6 = 0x0057
)

// DecodeFromBytes implements gopacket.DecodingLayer.
func (p *pppoeSession) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) < 8 {
		df.SetTruncated()
		return errShortPPPoE
	}
	end := min(6+int(binary.BigEndian.Uint16(data[4:6])), len(data))
	end = max(end, 8)
	p.BaseLayer = layers.BaseLayer{Contents: data[:8], Payload: data[8:end]}
	switch binary.BigEndian.Uint16(data[6:8]) {
	case pppIPv4:
		p.next = layers.LayerTypeIPv4
	case pppIPv6:
		p.next = layers.LayerTypeIPv6
	default:
		p.next = gopacket.LayerTypeZero
	}
	return nil
}

// CanDecode implements gopacket.DecodingLayer.
func (p *pppoeSession) CanDecode() gopacket.LayerClass { return layers.LayerTypePPPoE }

// NextLayerType implements gopacket.DecodingLayer.
func (p *pppoeSession) NextLayerType() gopacket.LayerType { return p.next }
