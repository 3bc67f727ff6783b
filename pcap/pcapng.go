package pcap

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"

	"github.com/gopacket/gopacket/layers"
)

// pcapng: a sequence of blocks, each "type, total length, body, total length
// again", the total a multiple of 4. A section header block (SHB) starts each
// section and fixes its byte order; interface description blocks (IDB)
// number the section's interfaces; packet blocks refer to them.
const (
	blockSHB     = 0x0a0d0d0a // section header (reads the same in both orders)
	blockIDB     = 1          // interface description
	blockPB      = 2          // packet (obsolete)
	blockSPB     = 3          // simple packet
	blockNRB     = 4          // name resolution
	blockISB     = 5          // interface statistics
	blockEPB     = 6          // enhanced packet
	blockJournal = 9          // systemd journal export: a record, not a packet
	blockDSB     = 10         // decryption secrets
	blockCustom  = 0x00000bad // custom, may be copied: a record, not a packet
	blockCustom2 = 0x40000bad // custom, must not be copied: a record too

	byteOrderMagic = 0x1a2b3c4d

	optEnd      = 0
	optComment  = 1
	optTsresol  = 9
	optTsoffset = 14

	shbFixedLen = 24 // type, length, byte-order magic, version, section length
	defaultRes  = 6  // microseconds, when an interface says nothing
)

// Bounds on the Decryption Secrets Blocks read (see Reader.OnSecrets): at
// most maxSecretsLen bytes of blocks per file, in all (a TLS 1.3 connection
// takes about 900 bytes of key log, a TLS 1.2 one 180), read
// secretsPiece bytes at a time so that a block need not fit the read
// buffer.
const (
	maxSecretsLen = 16 << 20
	secretsPiece  = 64 << 10
	dsbFixedLen   = 20 // type, length, secrets type, secrets length, trailing length
)

// Bounds on the section headers' comments the reader keeps (see
// Reader.SectionComments): a section header longer than
// maxSectionHeaderLen is skipped unread, and the comments beyond
// maxSectionComments, or beyond maxSectionCommentBytes in all, are left
// out, as are empty ones.
const (
	maxSectionHeaderLen    = 256 << 10
	maxSectionComments     = 64
	maxSectionCommentBytes = 64 << 10
)

// iface is what the reader keeps of one interface description.
type iface struct {
	linkType layers.LinkType
	snaplen  uint32
	binary   bool   // units are 2^-exp seconds, else 10^-exp
	exp      uint8  // exponent of the resolution
	div      uint64 // decimal: 10^exp
	scale    uint64 // decimal: 10^(9-exp), or 10^(exp-9) when exp > 9
	offset   int64  // if_tsoffset, seconds added to every timestamp
	global   int    // index in Reader.interfaces
}

// setResolution applies an if_tsresol value; it reports false, leaving
// microseconds, for a resolution too fine to represent.
func (f *iface) setResolution(res uint8) bool {
	f.binary = res&0x80 != 0
	f.exp = res & 0x7f
	switch {
	case f.binary && f.exp < 64:
		return true
	case !f.binary && f.exp <= 19:
		f.div = pow10(f.exp)
		if f.exp <= 9 {
			f.scale = pow10(9 - f.exp)
		} else {
			f.scale = pow10(f.exp - 9)
		}
		return true
	}
	f.setResolution(defaultRes)
	return false
}

// finerThanMicro tells whether the interface's timestamps resolve better
// than a microsecond.
func (f *iface) finerThanMicro() bool {
	if f.binary {
		return f.exp >= 20 // 2^-20 s is just under a microsecond
	}
	return f.exp > 6
}

// time converts a timestamp in the interface's units to seconds and
// nanoseconds since 1970, truncating below a nanosecond as Wireshark does.
func (f *iface) time(ts uint64) (sec, ns int64) {
	if f.binary {
		frac := ts & (1<<f.exp - 1)
		hi, lo := bits.Mul64(frac, 1e9)
		sec, ns = int64(ts>>f.exp), int64(hi<<(64-f.exp)|lo>>f.exp)
		if f.exp == 0 {
			ns = 0
		}
	} else {
		sec = int64(ts / f.div)
		rem := ts % f.div
		if f.exp <= 9 {
			ns = int64(rem * f.scale)
		} else {
			ns = int64(rem / f.scale)
		}
	}
	return sec + f.offset, ns
}

func pow10(e uint8) uint64 {
	p := uint64(1)
	for range e {
		p *= 10
	}
	return p
}

// minBlockLen is the smallest valid total length of a block of type typ.
func minBlockLen(typ uint32) uint32 {
	switch typ {
	case blockSHB:
		return 28
	case blockIDB:
		return 20
	case blockEPB, blockPB:
		return 32
	case blockSPB:
		return 16
	case blockISB:
		return 24
	}
	return 12
}

// checkBlockLen checks a block's leading total length.
func checkBlockLen(typ, total uint32) error {
	if m := minBlockLen(typ); total < m {
		return fmt.Errorf("block length %d too small (minimum %d)", total, m)
	}
	if total%4 != 0 {
		return fmt.Errorf("block length %d not a multiple of 4", total)
	}
	return nil
}

func blockTooLong(total uint32, limit int) error {
	return fmt.Errorf("block length %d exceeds limit %d", total, limit)
}

func trailerMismatch(trailer, total uint32) error {
	return fmt.Errorf("trailing block length %d does not match leading length %d", trailer, total)
}

// blockName names a block type in errors about blocks that are not records.
func blockName(typ uint32) string {
	switch typ {
	case blockSHB:
		return "pcapng section header"
	case blockIDB:
		return "interface description block"
	case blockNRB:
		return "name resolution block"
	case blockISB:
		return "interface statistics block"
	case blockDSB:
		return "decryption secrets block"
	case blockCustom, blockCustom2:
		return "custom block"
	}
	return fmt.Sprintf("block of type 0x%08x", typ)
}

// isRecord tells whether Wireshark (4.0) shows a block as a frame: packet
// blocks, and also systemd journal entries and custom blocks, which the
// reader skips but counts so that later frame numbers match.
func isRecord(typ uint32) bool {
	switch typ {
	case blockEPB, blockPB, blockSPB, blockJournal, blockCustom, blockCustom2:
		return true
	}
	return false
}

// blockPlace names a block for errors: a record number for blocks that
// Wireshark counts as frames, else a structure name.
func (r *Reader) blockPlace(typ uint32) (record int, where string) {
	if isRecord(typ) {
		return r.frame + 1, ""
	}
	return 0, blockName(typ)
}

// silentBlock tells whether a block type is skipped without a warning:
// known blocks that carry nothing the analysis needs.
func silentBlock(typ uint32) bool {
	switch typ {
	case blockNRB, blockISB, blockDSB, blockCustom, blockCustom2:
		return true
	}
	return false
}

// nextNG reads blocks until the next packet.
func (r *Reader) nextNG() (*Packet, error) {
	for {
		r.discardPending()
		start := r.off
		b, err := r.br.Peek(8)
		if len(b) < 8 {
			if len(b) == 0 && err == io.EOF {
				return nil, io.EOF
			}
			rec, where := 0, "block"
			if len(b) >= 4 {
				rec, where = r.blockPlace(r.u32(b))
			}
			return nil, r.fail(rec, where, start, r.short("block header", len(b), 8, err))
		}
		typ := r.u32(b)
		if typ == blockSHB {
			if err := r.readSHB(); err != nil {
				return nil, err
			}
			continue
		}
		total := r.u32(b[4:])
		rec, where := r.blockPlace(typ)
		if err := checkBlockLen(typ, total); err != nil {
			return nil, r.fail(rec, where, start, err)
		}
		switch typ {
		case blockEPB, blockPB, blockSPB:
			p, err := r.readPacketBlock(typ, total, start)
			if err != nil || p != nil {
				return p, err
			}
		case blockIDB:
			if err := r.readIDB(total, start); err != nil {
				return nil, err
			}
		case blockDSB:
			if err := r.readDSB(total, start); err != nil {
				return nil, err
			}
		case blockJournal:
			if err := r.skipBlock(rec, where, start, total); err != nil {
				return nil, err
			}
			r.frame = rec
			r.warns.add(warnJournal, 0, rec, 0)
		default:
			if err := r.skipBlock(rec, where, start, total); err != nil {
				return nil, err
			}
			if rec > 0 {
				r.frame = rec
			}
			if !silentBlock(typ) {
				r.warns.add(warnUnknownBlock, uint64(typ), 0, start)
			}
		}
	}
}

// readSHB reads a section header block at r.off, which starts a section:
// its byte order applies until the next one, and interfaces are numbered
// afresh.
func (r *Reader) readSHB() error {
	const where = "pcapng section header"
	start := r.off
	b, err := r.br.Peek(12)
	if len(b) < 12 {
		return r.fail(0, where, start, r.short("block header", len(b), 12, err))
	}
	switch binary.LittleEndian.Uint32(b[8:]) {
	case byteOrderMagic:
		r.be = false
	case bits.ReverseBytes32(byteOrderMagic):
		r.be = true
	default:
		return r.fail(0, where, start, fmt.Errorf("bad byte-order magic %#x", b[8:12]))
	}
	total := r.u32(b[4:])
	if err := checkBlockLen(blockSHB, total); err != nil {
		return r.fail(0, where, start, err)
	}
	if total > maxSkipBlockLen {
		return r.fail(0, where, start, blockTooLong(total, maxSkipBlockLen))
	}
	b, err = r.br.Peek(shbFixedLen)
	if len(b) < shbFixedLen {
		return r.fail(0, where, start, r.short("block", len(b), int(total), err))
	}
	if major, minor := r.u16(b[12:]), r.u16(b[14:]); major != 1 {
		return r.fail(0, where, start, fmt.Errorf("unsupported pcapng version %d.%d", major, minor))
	}
	if total > maxSectionHeaderLen {
		err = r.skipBlock(0, where, start, total)
	} else {
		err = r.readSHBOptions(start, total)
	}
	if err != nil {
		return err
	}
	r.ifaces = r.ifaces[:0]
	return nil
}

// readSHBOptions reads the section header block at start, of a checked
// length of at most maxSectionHeaderLen, for its comments, and checks its
// trailing length.
func (r *Reader) readSHBOptions(start int64, total uint32) error {
	const where = "pcapng section header"
	n := int(total)
	b, err := r.br.Peek(n)
	if len(b) < n {
		return r.fail(0, where, start, r.short("block", len(b), n, err))
	}
	if tl := r.u32(b[n-4:]); tl != total {
		return r.fail(0, where, start, trailerMismatch(tl, total))
	}
	r.sectionComments(b[shbFixedLen : n-4])
	r.br.Discard(n)
	r.off = start + int64(n)
	return nil
}

// sectionComments keeps the opt_comment values among a section header's
// options, within the bounds on them. Malformed options end the list
// quietly, as in a packet block: the packets matter more.
func (r *Reader) sectionComments(opts []byte) {
	used := 0
	for _, c := range r.shbComments {
		used += len(c)
	}
	for len(opts) >= 4 {
		code, olen := r.u16(opts), int(r.u16(opts[2:]))
		if code == optEnd || 4+olen > len(opts) {
			break
		}
		if code == optComment && olen > 0 {
			if len(r.shbComments) >= maxSectionComments || used+olen > maxSectionCommentBytes {
				break
			}
			r.shbComments = append(r.shbComments, string(opts[4:4+olen]))
			used += olen
		}
		opts = opts[min(4+(olen+3)&^3, len(opts)):]
	}
}

// SectionComments returns the comments (opt_comment options) of the
// pcapng section headers read so far, in order: the first section's from
// the time the Reader is made, those of later sections once Next has
// reached them. A classic pcap file has none. They are bounded: a section
// header beyond 256 KiB is not read for them, and at most 64 comments of
// at most 64 KiB in all are kept per file. The slice is shared: do not
// modify it.
func (r *Reader) SectionComments() []string { return r.shbComments }

// skipBlock discards the block at start, whose leading length has been
// checked, and checks its trailing length. Nothing of it is buffered whole.
func (r *Reader) skipBlock(rec int, where string, start int64, total uint32) error {
	if total > maxSkipBlockLen {
		return r.fail(rec, where, start, blockTooLong(total, maxSkipBlockLen))
	}
	want := int(total) - 4
	d, err := r.br.Discard(want)
	if d < want {
		return r.fail(rec, where, start, r.short("block", d, int(total), err))
	}
	t, err := r.br.Peek(4)
	if len(t) < 4 {
		return r.fail(rec, where, start, r.short("block", want+len(t), int(total), err))
	}
	if tl := r.u32(t); tl != total {
		return r.fail(rec, where, start, trailerMismatch(tl, total))
	}
	r.br.Discard(4)
	r.off = start + int64(total)
	return nil
}

// readIDB reads an interface description block.
func (r *Reader) readIDB(total uint32, start int64) error {
	const where = "interface description block"
	if total > maxInterfaceBlockLen {
		return r.fail(0, where, start, blockTooLong(total, maxInterfaceBlockLen))
	}
	n := int(total)
	b, err := r.br.Peek(n)
	if len(b) < n {
		return r.fail(0, where, start, r.short("block", len(b), n, err))
	}
	if tl := r.u32(b[n-4:]); tl != total {
		return r.fail(0, where, start, trailerMismatch(tl, total))
	}
	if len(r.ifaces) >= maxInterfaces {
		return r.fail(0, where, start, fmt.Errorf("more than %d interfaces in one section", maxInterfaces))
	}
	f := iface{linkType: layers.LinkType(r.u16(b[8:])), snaplen: r.u32(b[12:])}
	res := uint8(defaultRes)
	var kept []Option
	opts := b[16 : n-4]
	for len(opts) >= 4 {
		code, olen := r.u16(opts), int(r.u16(opts[2:]))
		if code == optEnd {
			break
		}
		padded := (olen + 3) &^ 3
		if 4+padded > len(opts) {
			r.warns.add(warnOptions, 0, 0, start)
			break
		}
		v := opts[4 : 4+olen]
		switch {
		case code == optTsresol && olen == 1:
			res = v[0]
		case code == optTsoffset && olen == 8:
			if r.be {
				f.offset = int64(binary.BigEndian.Uint64(v))
			} else {
				f.offset = int64(binary.LittleEndian.Uint64(v))
			}
		case keepOption(code, v) && len(kept) < maxKeptOptions && len(r.interfaces) < maxDescribedInterfaces:
			kept = append(kept, Option{Code: code, Value: bytes.Clone(v)})
		}
		opts = opts[4+padded:]
	}
	if !f.setResolution(res) {
		r.warns.add(warnTsresol, uint64(res), 0, start)
		res = defaultRes
	}
	desc := Interface{LinkType: f.linkType, Snaplen: f.snaplen, Resolution: res, Offset: f.offset, Options: kept}
	if f.global, err = r.addInterface(len(r.ifaces), desc); err != nil {
		return r.fail(0, where, start, err)
	}
	r.ifaces = append(r.ifaces, f)
	r.addLinkType(f.linkType, f.snaplen)
	if f.finerThanMicro() {
		r.nano = true
	}
	r.br.Discard(n)
	r.off = start + int64(n)
	return nil
}

// keepOption tells whether an interface option is kept in
// Interface.Options: those whose value reads the same in either byte
// order and that a writer would describe the interface with (opt_comment,
// if_name, if_description, if_IPv4addr, if_IPv6addr, if_MACaddr,
// if_EUIaddr, if_filter as a string, if_os, if_fcslen, if_hardware).
func keepOption(code uint16, v []byte) bool {
	if len(v) > maxKeptOptionLen {
		return false
	}
	switch code {
	case optComment, 2, 3, 4, 5, 6, 7, 12, 13, 15:
		return true
	case 11: // if_filter: a type byte, 0 for a filter string
		return len(v) > 0 && v[0] == 0
	}
	return false
}

// addInterface numbers an interface described at position pos of its
// section: a description seen before, at the same position of an earlier
// section, keeps its number.
func (r *Reader) addInterface(pos int, desc Interface) (int, error) {
	key := make([]byte, 0, 64)
	key = binary.LittleEndian.AppendUint32(key, uint32(pos))
	key = binary.LittleEndian.AppendUint16(key, uint16(desc.LinkType))
	key = binary.LittleEndian.AppendUint32(key, desc.Snaplen)
	key = append(key, desc.Resolution)
	key = binary.LittleEndian.AppendUint64(key, uint64(desc.Offset))
	for _, o := range desc.Options {
		key = binary.LittleEndian.AppendUint16(key, o.Code)
		key = binary.LittleEndian.AppendUint16(key, uint16(len(o.Value)))
		key = append(key, o.Value...)
	}
	if i, ok := r.ifaceIndex[string(key)]; ok {
		return i, nil
	}
	if len(r.interfaces) >= maxInterfaces {
		return 0, fmt.Errorf("more than %d distinct interfaces in one file", maxInterfaces)
	}
	if r.ifaceIndex == nil {
		r.ifaceIndex = map[string]int{}
	}
	r.ifaceIndex[string(key)] = len(r.interfaces)
	r.interfaces = append(r.interfaces, desc)
	return len(r.interfaces) - 1, nil
}

// packetComments returns the opt_comment values among a packet block's
// options, in order, or nil when there is none. Malformed options end the
// list quietly: the packet matters more than its comments.
func (r *Reader) packetComments(opts []byte) []string {
	r.comments = r.comments[:0]
	for len(opts) >= 4 {
		code, olen := r.u16(opts), int(r.u16(opts[2:]))
		if code == optEnd || 4+olen > len(opts) {
			break
		}
		if code == optComment {
			r.comments = append(r.comments, string(opts[4:4+olen]))
		}
		opts = opts[min(4+(olen+3)&^3, len(opts)):]
	}
	if len(r.comments) == 0 {
		return nil
	}
	return r.comments
}

// readPacketBlock reads an enhanced, simple or obsolete packet block. It
// returns a nil packet and no error when the block was skipped (its
// interface was never described); the block still counts as a frame.
func (r *Reader) readPacketBlock(typ, total uint32, start int64) (*Packet, error) {
	rec := r.frame + 1
	if total > maxPacketBlockLen {
		return nil, r.fail(rec, "", start, blockTooLong(total, maxPacketBlockLen))
	}
	n := int(total)
	b, err := r.br.Peek(n)
	if len(b) < n {
		return nil, r.fail(rec, "", start, r.short("block", len(b), n, err))
	}
	if tl := r.u32(b[n-4:]); tl != total {
		return nil, r.fail(rec, "", start, trailerMismatch(tl, total))
	}
	var ifc, caplen, orig, body uint32
	var ts uint64
	dataOff := 28
	switch typ {
	case blockEPB, blockPB:
		if typ == blockEPB {
			ifc = r.u32(b[8:])
		} else {
			ifc = uint32(r.u16(b[8:]))
		}
		ts = uint64(r.u32(b[12:]))<<32 | uint64(r.u32(b[16:]))
		caplen = r.u32(b[20:])
		orig = r.u32(b[24:])
		body = total - 32
	default: // simple packet block: interface 0, no timestamp
		orig = r.u32(b[8:])
		dataOff = 12
		body = total - 16
		caplen = min(orig, body)
	}
	r.frame = rec
	if int64(ifc) >= int64(len(r.ifaces)) {
		r.warns.add(warnUndescribed, uint64(ifc), rec, 0)
		r.pending = n
		r.off = start + int64(n)
		return nil, nil
	}
	f := &r.ifaces[ifc]
	if typ == blockSPB && f.snaplen != 0 {
		caplen = min(caplen, f.snaplen)
	}
	if caplen > maxRecordLen {
		return nil, r.fail(rec, "", start, capLimitError(caplen, f.snaplen))
	}
	if caplen > body {
		return nil, r.fail(rec, "", start, fmt.Errorf("captured length %d exceeds block body of %d bytes", caplen, body))
	}
	r.pending = n
	r.off = start + int64(n)
	if orig < caplen {
		r.warns.add(warnOrigShort, 0, rec, 0)
	}
	if f.snaplen != 0 && caplen > f.snaplen {
		r.warns.add(warnOverSnaplen, uint64(f.snaplen), rec, 0)
	}
	end := dataOff + int(caplen)
	if typ == blockSPB {
		p := r.emit(r.prevSec, r.prevNs, b[dataOff:end:end], orig, f.linkType, r.timed)
		p.Interface, p.Comments = f.global, nil
		return p, nil
	}
	sec, ns := f.time(ts)
	p := r.emit(sec, ns, b[dataOff:end:end], orig, f.linkType, true)
	p.Interface, p.Comments = f.global, nil
	if opts := dataOff + (int(caplen)+3)&^3; opts < n-4 {
		p.Comments = r.packetComments(b[opts : n-4])
	}
	return p, nil
}

// SecretsTLSKeyLog is the Secrets Type of a Decryption Secrets Block that
// holds a TLS key log in the NSS key log format ("TLSK").
const SecretsTLSKeyLog = 0x544c534b

// Secrets is the content of a pcapng Decryption Secrets Block (block type
// 10), as "editcap --inject-secrets" writes it. Data is secret: never
// print it.
type Secrets struct {
	// Type is the Secrets Type: SecretsTLSKeyLog, or another kind
	// (WireGuard, SSH, ...) that the caller may ignore.
	Type uint32
	// Data are the secrets, without the block's padding.
	Data []byte
	// Offset is where the block begins in the (decompressed) file.
	Offset int64
}

// OnSecrets asks for the Decryption Secrets Blocks of a pcapng file: Next
// calls f, on its own goroutine, with each one it reads from then on,
// before the packets that follow the block. Call it before the first Next
// (a block read before is skipped, as every block is when OnSecrets was
// not called). f owns the Data it gets. The blocks are bounded: beyond 16
// MiB in all they are skipped with a warning, as is a block whose secrets
// length exceeds the block.
func (r *Reader) OnSecrets(f func(Secrets)) { r.onSecrets = f }

// readDSB reads a Decryption Secrets Block for OnSecrets, or skips it.
func (r *Reader) readDSB(total uint32, start int64) error {
	const where = "decryption secrets block"
	if r.onSecrets == nil || total < dsbFixedLen {
		return r.skipBlock(0, where, start, total)
	}
	if int64(r.secretsLen)+int64(total) > maxSecretsLen {
		r.warns.add(warnSecrets, secretsTooMuch, 0, start)
		return r.skipBlock(0, where, start, total)
	}
	n := int(total)
	buf := make([]byte, 0, n)
	for len(buf) < n {
		want := min(n-len(buf), secretsPiece)
		b, err := r.br.Peek(want)
		if len(b) < want {
			return r.fail(0, where, start, r.short("block", len(buf)+len(b), n, err))
		}
		buf = append(buf, b...)
		r.br.Discard(want)
	}
	r.off = start + int64(n)
	if tl := r.u32(buf[n-4:]); tl != total {
		return r.fail(0, where, start, trailerMismatch(tl, total))
	}
	r.secretsLen += n
	typ, size := r.u32(buf[8:]), r.u32(buf[12:])
	if uint64(size) > uint64(n-dsbFixedLen) {
		r.warns.add(warnSecrets, secretsBadLength, 0, start)
		return nil
	}
	r.onSecrets(Secrets{Type: typ, Data: buf[16 : 16+size : 16+size], Offset: start})
	return nil
}
