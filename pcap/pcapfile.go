package pcap

import (
	"fmt"
	"io"
	"math/bits"

	"github.com/gopacket/gopacket/layers"
)

// Classic pcap: a 24-byte file header, then records of a 16-byte header
// (seconds, sub-second units, captured length, original length) and the
// captured bytes. The magic number gives the byte order and the sub-second
// unit; the modified (Kuznetzov) format adds 8 bytes to each record header.
const (
	magicMicro    = 0xa1b2c3d4
	magicNano     = 0xa1b23c4d
	magicModified = 0xa1b2cd34

	pcapHeaderLen            = 24
	pcapRecordHeaderLen      = 16
	pcapModifiedRecHeaderLen = 24

	// linkTypeMask keeps the link type out of the header's link-type field,
	// whose upper bits may carry FCS information.
	linkTypeMask = 0x03ffffff
)

// sniffPcap tells whether magic (the first four bytes read little-endian)
// starts a classic pcap file, and which kind.
func sniffPcap(magic uint32) (ok, be, nano, modified bool) {
	switch magic {
	case magicMicro:
		return true, false, false, false
	case magicNano:
		return true, false, true, false
	case magicModified:
		return true, false, false, true
	}
	switch bits.ReverseBytes32(magic) {
	case magicMicro:
		return true, true, false, false
	case magicNano:
		return true, true, true, false
	case magicModified:
		return true, true, false, true
	}
	return false, false, false, false
}

// readPcapHeader reads and checks the file header.
func (r *Reader) readPcapHeader(be, nano, modified bool) error {
	const where = "pcap file header"
	b, err := r.br.Peek(pcapHeaderLen)
	if len(b) < pcapHeaderLen {
		return r.fail(0, where, 0, r.short("", len(b), pcapHeaderLen, err))
	}
	r.be = be
	major, minor := r.u16(b[4:]), r.u16(b[6:])
	snaplen := r.u32(b[16:])
	lt := r.u32(b[20:]) & linkTypeMask
	if lt > 0xffff {
		return r.fail(0, where, 0, fmt.Errorf("link type %d out of range", lt))
	}
	if major != 2 {
		r.warns.add(warnVersion, uint64(major)<<16|uint64(minor), 0, 0)
	}
	r.recHdrLen = pcapRecordHeaderLen
	if modified {
		r.recHdrLen = pcapModifiedRecHeaderLen
	}
	r.fracMul = 1000
	if nano {
		r.fracMul = 1
		r.nano = true
	}
	r.snaplen = snaplen
	r.linkType = layers.LinkType(lt)
	r.addLinkType(r.linkType, snaplen)
	res := uint8(6)
	if nano {
		res = 9
	}
	r.interfaces = []Interface{{LinkType: r.linkType, Snaplen: snaplen, Resolution: res}}
	r.br.Discard(pcapHeaderLen)
	r.off = pcapHeaderLen
	return nil
}

// nextPcap reads the next classic pcap record.
func (r *Reader) nextPcap() (*Packet, error) {
	r.discardPending()
	start := r.off
	rec := r.frame + 1
	hl := r.recHdrLen
	b, err := r.br.Peek(hl)
	if len(b) < hl {
		if len(b) == 0 && err == io.EOF {
			return nil, io.EOF
		}
		return nil, r.fail(rec, "", start, r.short("record header", len(b), hl, err))
	}
	sec := r.u32(b)
	frac := r.u32(b[4:])
	caplen := r.u32(b[8:])
	orig := r.u32(b[12:])
	if caplen > maxRecordLen {
		return nil, r.fail(rec, "", start, capLimitError(caplen, r.snaplen))
	}
	n := hl + int(caplen)
	b, err = r.br.Peek(n)
	if len(b) < n {
		return nil, r.fail(rec, "", start, r.short("packet data", max(len(b)-hl, 0), int(caplen), err))
	}
	r.frame = rec
	r.pending = n
	r.off = start + int64(n)

	s, ns := int64(sec), int64(frac)*r.fracMul
	if ns >= 1e9 {
		r.warns.add(warnFraction, 0, rec, 0)
		s += ns / 1e9
		ns %= 1e9
	}
	if orig < caplen {
		r.warns.add(warnOrigShort, 0, rec, 0)
	}
	if r.snaplen != 0 && caplen > r.snaplen {
		r.warns.add(warnOverSnaplen, uint64(r.snaplen), rec, 0)
	}
	return r.emit(s, ns, b[hl:n:n], orig, r.linkType, true), nil
}
