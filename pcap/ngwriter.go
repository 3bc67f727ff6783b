package pcap

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"time"
	"unicode/utf8"
)

// NgWriter writes a pcapng file of one little-endian section: a section
// header, interface descriptions added as they are needed, and enhanced
// packet blocks with comments. Unlike gopacket's pcapgo.NgWriter, which
// always writes nanoseconds, each interface keeps the timestamp resolution
// it is described with, so packets copied from a capture keep their
// timestamps exactly (see WritePacket).
//
// Writes are buffered: call Flush at the end. The first error is returned
// again by every later call.
type NgWriter struct {
	w    *bufio.Writer
	buf  []byte // the block being built
	ifcs []ifaceOut
	err  error
}

// ifaceOut is what the writer keeps of an interface it described.
type ifaceOut struct {
	res    uint8 // resolution as written
	offset int64 // if_tsoffset as written
}

// SectionHeader is what NewNgWriter writes in the section header block.
type SectionHeader struct {
	// Comments become opt_comment options, in order.
	Comments []string
	// Application names the program writing the file (shb_userappl).
	Application string
}

// pcapng option codes the writer uses beyond those the reader does.
const (
	optSHBUserAppl = 4
	// maxOptionLen is the largest option value: its length is 16 bits.
	maxOptionLen = 1<<16 - 1
)

// NewNgWriter writes the section header to w and returns a writer for
// the section's interfaces and packets.
func NewNgWriter(w io.Writer, sh SectionHeader) (*NgWriter, error) {
	nw := &NgWriter{w: bufio.NewWriterSize(w, 64<<10)}
	b := nw.start(blockSHB)
	b = binary.LittleEndian.AppendUint32(b, byteOrderMagic)
	b = binary.LittleEndian.AppendUint16(b, 1) // version 1.0
	b = binary.LittleEndian.AppendUint16(b, 0)
	b = binary.LittleEndian.AppendUint64(b, ^uint64(0)) // section length unknown
	opts := len(b)
	for _, c := range sh.Comments {
		b = appendOption(b, optComment, []byte(c))
	}
	if sh.Application != "" {
		b = appendOption(b, optSHBUserAppl, []byte(sh.Application))
	}
	nw.buf = endOptions(b, opts)
	if err := nw.finish(); err != nil {
		return nil, err
	}
	return nw, nil
}

// AddInterface describes an interface and returns its number, for
// WritePacket. A resolution finer than a nanosecond, or one the reader
// cannot use, is written as nanoseconds, the precision Packet.Timestamp
// keeps. The if_tsresol and if_tsoffset options come first, then the
// kept options (Interface.Options), except any if_tsresol or if_tsoffset
// among them.
func (nw *NgWriter) AddInterface(ifc Interface) (int, error) {
	if nw.err != nil {
		return 0, nw.err
	}
	res := writableResolution(ifc.Resolution)
	b := nw.start(blockIDB)
	b = binary.LittleEndian.AppendUint16(b, uint16(ifc.LinkType))
	b = binary.LittleEndian.AppendUint16(b, 0)
	b = binary.LittleEndian.AppendUint32(b, ifc.Snaplen)
	opts := len(b)
	if res != defaultRes {
		b = appendOption(b, optTsresol, []byte{res})
	}
	if ifc.Offset != 0 {
		b = appendOption(b, optTsoffset, binary.LittleEndian.AppendUint64(nil, uint64(ifc.Offset)))
	}
	for _, o := range ifc.Options {
		if o.Code != optEnd && o.Code != optTsresol && o.Code != optTsoffset {
			b = appendOption(b, o.Code, o.Value)
		}
	}
	nw.buf = endOptions(b, opts)
	if err := nw.finish(); err != nil {
		return 0, err
	}
	nw.ifcs = append(nw.ifcs, ifaceOut{res: res, offset: ifc.Offset})
	return len(nw.ifcs) - 1, nil
}

// WritePacket writes one enhanced packet block on interface ifc (a number
// AddInterface returned): data as captured, the length it had on the wire
// (at least len(data)), and the comments as opt_comment options, in order.
//
// The timestamp is written in the interface's unit, less its offset. For
// every resolution down to a nanosecond, a timestamp that the reader
// decoded from that unit is written back as the very same number, so that
// Wireshark shows the same time to the last digit.
func (nw *NgWriter) WritePacket(ifc int, ts time.Time, data []byte, orig int, comments ...string) error {
	if nw.err != nil {
		return nw.err
	}
	if ifc < 0 || ifc >= len(nw.ifcs) {
		return fmt.Errorf("pcapng writer: packet on interface %d, but %d described", ifc, len(nw.ifcs))
	}
	if len(data) > maxRecordLen {
		return fmt.Errorf("pcapng writer: packet of %d bytes exceeds limit %d", len(data), maxRecordLen)
	}
	out := nw.ifcs[ifc]
	units := toUnits(ts.Unix(), uint64(ts.Nanosecond()), out.offset, out.res)
	b := nw.start(blockEPB)
	b = binary.LittleEndian.AppendUint32(b, uint32(ifc))
	b = binary.LittleEndian.AppendUint32(b, uint32(units>>32))
	b = binary.LittleEndian.AppendUint32(b, uint32(units))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(data)))
	b = binary.LittleEndian.AppendUint32(b, uint32(max(orig, len(data))))
	b = append(b, data...)
	b = pad(b)
	opts := len(b)
	for _, c := range comments {
		b = appendOption(b, optComment, []byte(c))
	}
	nw.buf = endOptions(b, opts)
	return nw.finish()
}

// Flush writes what is buffered.
func (nw *NgWriter) Flush() error {
	if nw.err != nil {
		return nw.err
	}
	nw.err = nw.w.Flush()
	return nw.err
}

// start begins a block of type typ in nw.buf, its length to be filled in
// by finish.
func (nw *NgWriter) start(typ uint32) []byte {
	b := binary.LittleEndian.AppendUint32(nw.buf[:0], typ)
	return binary.LittleEndian.AppendUint32(b, 0)
}

// finish fills in the length of the block in nw.buf, appends its
// trailing length and writes it.
func (nw *NgWriter) finish() error {
	b := nw.buf
	total := len(b) + 4
	if total > maxSkipBlockLen {
		nw.err = errors.New("pcapng writer: block too long")
		return nw.err
	}
	binary.LittleEndian.PutUint32(b[4:], uint32(total))
	nw.buf = binary.LittleEndian.AppendUint32(b, uint32(total))
	if _, err := nw.w.Write(nw.buf); err != nil {
		nw.err = err
		return err
	}
	return nil
}

// appendOption appends one option, its value cut to maxOptionLen bytes
// (at a UTF-8 boundary, should it be text) and padded to 4 bytes.
func appendOption(b []byte, code uint16, v []byte) []byte {
	if len(v) > maxOptionLen {
		n := maxOptionLen
		for n > maxOptionLen-utf8.UTFMax && n > 0 && !utf8.RuneStart(v[n]) {
			n--
		}
		v = v[:n]
	}
	b = binary.LittleEndian.AppendUint16(b, code)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(v)))
	b = append(b, v...)
	return pad(b)
}

// endOptions appends opt_endofopt when options were written after start.
func endOptions(b []byte, start int) []byte {
	if len(b) == start {
		return b
	}
	return binary.LittleEndian.AppendUint32(b, optEnd)
}

func pad(b []byte) []byte {
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// writableResolution returns the if_tsresol to write for an interface of
// resolution res: res itself when a nanosecond timestamp can be converted
// back to it exactly (decimal units down to 10^-9 s, binary ones down to
// 2^-29 s), else nanoseconds.
func writableResolution(res uint8) uint8 {
	exp := res & 0x7f
	if res&0x80 != 0 && exp <= 29 || res&0x80 == 0 && exp <= 9 {
		return res
	}
	return 9
}

// toUnits converts a time, sec and ns since 1970, to a count of res
// units since offset seconds after 1970: the inverse of iface.time for the
// resolutions writableResolution keeps. A time the units cannot hold is
// written as the nearest they can.
func toUnits(sec int64, ns uint64, offset int64, res uint8) uint64 {
	if offset < 0 && sec > math.MaxInt64+offset || offset > 0 && sec < math.MinInt64+offset {
		return 0 // far beyond any capture: the reader clamps such times
	}
	sec -= offset
	if sec < 0 {
		return 0
	}
	s := uint64(sec)
	exp := res & 0x7f
	if res&0x80 != 0 {
		if exp > 0 && s >= 1<<(64-exp) {
			return math.MaxUint64
		}
		// iface.time truncates: ns = floor(frac * 1e9 / 2^exp). A unit of
		// at least a nanosecond makes that one-to-one, and the smallest
		// frac giving ns is ceil(ns * 2^exp / 1e9). Adding (not OR-ing)
		// carries a rounding up to the next second.
		frac := (ns<<exp + 1e9 - 1) / 1e9
		return s<<exp + frac
	}
	div := pow10(exp)
	if s > (math.MaxUint64-div)/div {
		return math.MaxUint64
	}
	return s*div + ns/pow10(9-exp)
}
