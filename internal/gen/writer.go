package gen

import "encoding/binary"

var le = binary.LittleEndian

// snaplen is the snapshot length declared in the file header.
const snaplen = 262144

// Record header sizes.
const (
	pcapRecHdr = 16
	ngRecHdr   = 28 // enhanced packet block up to the data
)

// fileHeader returns the bytes that open a capture in format f.
func fileHeader(f Format) []byte {
	if f == FormatPcap {
		b := make([]byte, 24)
		le.PutUint32(b[0:], 0xa1b2c3d4)
		le.PutUint16(b[4:], 2)
		le.PutUint16(b[6:], 4)
		le.PutUint32(b[16:], snaplen)
		le.PutUint32(b[20:], 1) // Ethernet
		return b
	}
	// Section header block with shb_userappl.
	shb := ngBlock(0x0a0d0d0a, func(b []byte) []byte {
		b = le.AppendUint32(b, 0x1a2b3c4d)
		b = le.AppendUint16(b, 1)
		b = le.AppendUint16(b, 0)
		b = le.AppendUint64(b, ^uint64(0)) // section length unknown
		b = ngOption(b, 4, []byte("ftpdiag-gen"))
		return ngOption(b, 0, nil)
	})
	// Interface description block: Ethernet, if_name, if_tsresol 10^-6.
	idb := ngBlock(1, func(b []byte) []byte {
		b = le.AppendUint16(b, 1)
		b = le.AppendUint16(b, 0)
		b = le.AppendUint32(b, snaplen)
		b = ngOption(b, 2, []byte("eth0"))
		b = ngOption(b, 9, []byte{6})
		return ngOption(b, 0, nil)
	})
	return append(shb, idb...)
}

// ngBlock frames a pcapng block body written by body.
func ngBlock(typ uint32, body func([]byte) []byte) []byte {
	b := le.AppendUint32(nil, typ)
	b = le.AppendUint32(b, 0)
	b = body(b)
	b = le.AppendUint32(b, 0)
	le.PutUint32(b[4:], uint32(len(b)))
	le.PutUint32(b[len(b)-4:], uint32(len(b)))
	return b
}

// ngOption appends a pcapng option padded to 32 bits.
func ngOption(b []byte, code uint16, v []byte) []byte {
	b = le.AppendUint16(b, code)
	b = le.AppendUint16(b, uint16(len(v)))
	b = append(b, v...)
	for len(v)%4 != 0 {
		b = append(b, 0)
		v = append(v, 0)
	}
	return b
}

// recHdrLen returns the bytes before the frame in a record of format f.
func recHdrLen(f Format) int {
	if f == FormatPcap {
		return pcapRecHdr
	}
	return ngRecHdr
}

// recLen returns the file bytes a frame of n bytes takes in format f.
func recLen(f Format, n int) int {
	if f == FormatPcap {
		return pcapRecHdr + n
	}
	return ngRecHdr + (n+3)&^3 + 4
}

// frameRecord fills the record header before a frame of n bytes at
// buf[recHdrLen(f):] captured at t (µs since 1970), and the padding and
// trailer after it, and returns the whole record.
func frameRecord(f Format, buf []byte, n int, t int64) []byte {
	if f == FormatPcap {
		le.PutUint32(buf[0:], uint32(t/1e6))
		le.PutUint32(buf[4:], uint32(t%1e6))
		le.PutUint32(buf[8:], uint32(n))
		le.PutUint32(buf[12:], uint32(n))
		return buf[:pcapRecHdr+n]
	}
	total := recLen(f, n)
	le.PutUint32(buf[0:], 6)
	le.PutUint32(buf[4:], uint32(total))
	le.PutUint32(buf[8:], 0)
	le.PutUint32(buf[12:], uint32(uint64(t)>>32))
	le.PutUint32(buf[16:], uint32(t))
	le.PutUint32(buf[20:], uint32(n))
	le.PutUint32(buf[24:], uint32(n))
	end := ngRecHdr + n
	clear(buf[end : total-4])
	le.PutUint32(buf[total-4:], uint32(total))
	return buf[:total]
}
