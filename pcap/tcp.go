package pcap

import (
	"encoding/binary"
	"errors"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// TCP is a TCP header decoded for speed: the fixed fields, with the
// options kept raw and read on demand (most segments never need them).
// It is a gopacket.DecodingLayer for LayerTypeTCP, so the decoder's
// DecodingLayerParser uses it in place of layers.TCP.
type TCP struct {
	SrcPort, DstPort uint16
	Seq, Ack         uint32
	// Flags holds the flag bits of byte 13 (FIN 0x01 ... CWR 0x80).
	Flags                        uint8
	FIN, SYN, RST, PSH, ACK, URG bool
	Window                       uint16
	options, segment             []byte
	// Payload is the captured payload (possibly cut by the snapshot length).
	Payload []byte
}

// errShortTCP is returned for a TCP header cut or lying about its length.
var (
	errShortTCP  = errors.New("TCP header shorter than 20 bytes")
	errTCPOffset = errors.New("TCP data offset out of range")
)

// DecodeFromBytes implements gopacket.DecodingLayer.
func (t *TCP) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) < 20 {
		df.SetTruncated()
		return errShortTCP
	}
	t.SrcPort = binary.BigEndian.Uint16(data[0:2])
	t.DstPort = binary.BigEndian.Uint16(data[2:4])
	t.Seq = binary.BigEndian.Uint32(data[4:8])
	t.Ack = binary.BigEndian.Uint32(data[8:12])
	off := int(data[12]>>4) * 4
	f := data[13]
	t.Flags = f
	t.FIN, t.SYN, t.RST, t.PSH, t.ACK, t.URG = f&0x01 != 0, f&0x02 != 0, f&0x04 != 0, f&0x08 != 0, f&0x10 != 0, f&0x20 != 0
	t.Window = binary.BigEndian.Uint16(data[14:16])
	if off < 20 || off > len(data) {
		df.SetTruncated()
		return errTCPOffset
	}
	t.segment = data
	t.options = data[20:off]
	t.Payload = data[off:]
	return nil
}

// Full decodes the segment completely into gopacket's layers.TCP, for the
// stream reassembler.
func (t *TCP) Full(dst *layers.TCP) error {
	return dst.DecodeFromBytes(t.segment, gopacket.NilDecodeFeedback)
}

// HeaderLen returns the length of the header, options included.
func (t *TCP) HeaderLen() int { return 20 + len(t.options) }

// CanDecode implements gopacket.DecodingLayer.
func (t *TCP) CanDecode() gopacket.LayerClass { return layers.LayerTypeTCP }

// NextLayerType implements gopacket.DecodingLayer: nothing is decoded
// beyond TCP.
func (t *TCP) NextLayerType() gopacket.LayerType { return gopacket.LayerTypeZero }

// LayerPayload implements gopacket.DecodingLayer.
func (t *TCP) LayerPayload() []byte { return t.Payload }

// option returns the data of the first option of the given kind.
func (t *TCP) option(kind byte) ([]byte, bool) {
	o := t.options
	for len(o) > 0 {
		switch o[0] {
		case 0: // end of options
			return nil, false
		case 1: // no-op
			o = o[1:]
			continue
		}
		if len(o) < 2 || o[1] < 2 || int(o[1]) > len(o) {
			return nil, false
		}
		if o[0] == kind {
			return o[2:o[1]], true
		}
		o = o[o[1]:]
	}
	return nil, false
}

// MSS returns the maximum segment size option, 0 if absent.
func (t *TCP) MSS() int {
	if v, ok := t.option(2); ok && len(v) == 2 {
		return int(binary.BigEndian.Uint16(v))
	}
	return 0
}

// TSval returns the timestamp option's value.
func (t *TCP) TSval() (uint32, bool) {
	if v, ok := t.option(8); ok && len(v) == 8 {
		return binary.BigEndian.Uint32(v), true
	}
	return 0, false
}
