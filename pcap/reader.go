package pcap

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// Bounds on what a capture file may make the reader do. Nothing is allocated
// in proportion to a length read from the file: records are read in place
// from a buffer of bufferSize bytes, and blocks that are not read are skipped
// by discarding.
const (
	// bufferSize is the size of the read buffer; every record and every
	// block that is parsed (not skipped) must fit in it.
	bufferSize = 1 << 20
	// maxRecordLen bounds the captured length of one packet.
	maxRecordLen = 256 << 10
	// maxPacketBlockLen bounds a pcapng packet block: the largest packet
	// plus room for its options.
	maxPacketBlockLen = maxRecordLen + 64<<10
	// maxInterfaceBlockLen bounds a pcapng interface description block,
	// which is parsed whole for its options.
	maxInterfaceBlockLen = 256 << 10
	// maxSkipBlockLen bounds a pcapng block that is skipped by discarding;
	// anything larger is taken as damage rather than skipped silently.
	maxSkipBlockLen = 64 << 20
	// maxInterfaces bounds the interfaces described in one pcapng section,
	// and the distinct interfaces of a whole file (see Reader.Interface).
	maxInterfaces = 1 << 16
	// maxDescribedInterfaces bounds the interfaces whose options are kept
	// (Interface.Options); later ones are kept without them.
	maxDescribedInterfaces = 1 << 10
	// maxKeptOptions and maxKeptOptionLen bound the options kept per
	// interface; longer options are left out.
	maxKeptOptions   = 16
	maxKeptOptionLen = 256
	// maxWarnings bounds the distinct warnings kept per file; further kinds
	// are only counted.
	maxWarnings = 20
)

// Reader reads packets from one capture file: classic pcap (microsecond,
// nanosecond or the modified Kuznetzov format, either byte order) or pcapng,
// either of them optionally gzip-compressed. The format is sniffed from the
// content, not from the name.
//
// A Reader is not safe for concurrent use.
type Reader struct {
	name   string
	br     source
	gz     *gzip.Reader
	file   io.Closer // the file Open opened, closed by Close
	format Format
	count  *countingReader // counts the bytes read from the input
	// prefetchers read ahead in goroutines (files opened with Open).
	prefetchers []*prefetcher
	// pooled are the read buffers taken from bufioPool, given back by
	// Close.
	pooled []*bufio.Reader

	be      bool  // the file (pcap) or the current section (pcapng) is big-endian
	off     int64 // offset of the next record in the decompressed stream
	pending int   // bytes of the last returned record still to be discarded
	frame   int   // records seen so far, counted as Wireshark counts frames

	pkt Packet

	// classic pcap
	recHdrLen int   // 16, or 24 for the modified format
	fracMul   int64 // nanoseconds per unit of the sub-second field
	snaplen   uint32
	linkType  layers.LinkType

	// pcapng
	ifaces []iface

	// interfaces describes every distinct interface of the file, the
	// index Packet.Interface refers to; ifaceIndex finds one again when a
	// later section describes it the same way.
	interfaces []Interface
	ifaceIndex map[string]int
	comments   []string // Packet.Comments, reused from packet to packet
	// shbComments are the section headers' comments (SectionComments).
	shbComments []string
	// onSecrets receives the Decryption Secrets Blocks (OnSecrets);
	// secretsLen counts the bytes of those read.
	onSecrets  func(Secrets)
	secretsLen int

	// what Info reports
	packets           int
	firstSec, lastSec int64
	firstNs, lastNs   int64
	prevSec, prevNs   int64
	timed             bool // a timestamp has been read
	linkTypes         []layers.LinkType
	linkSeen          *[1 << 16 / 64]uint64 // bit set of linkTypes, for pcapng's many IDBs
	maxSnaplen        uint32
	nano              bool
	warns             warnings
	complete          bool
	err               error  // sticky: io.EOF or the error that stopped reading
	errText           string // err without the file name, for Info.Warnings
}

// NewReader returns a Reader for the capture in r; name is used in errors
// and in Info. The format is sniffed from the first bytes: gzip is
// decompressed and sniffed again; then classic pcap or pcapng is expected.
// Anything else gives a *FormatError saying "not a capture file" and quoting
// the first bytes. The file header (the first pcapng section header) is read
// and checked before NewReader returns.
//
// The Reader does not close r.
func NewReader(r io.Reader, name string) (*Reader, error) {
	return newReader(r, name, 0)
}

// newReader is NewReader; with a prefetch chunk size, a gzip-compressed
// input is decompressed ahead in a goroutine of its own, which Close stops.
func newReader(r io.Reader, name string, prefetch int) (*Reader, error) {
	rd := &Reader{name: name, count: &countingReader{r: r}}
	if _, err := rd.open(prefetch); err != nil {
		rd.stopPrefetch()
		return nil, err
	}
	return rd, nil
}

// buffered puts a source in front of an input.
func (rd *Reader) buffered(r io.Reader, prefetch int) interface {
	source
	io.Reader
} {
	if prefetch > 0 {
		p := newPrefetcher(r, prefetch, prefetchDepth)
		rd.prefetchers = append(rd.prefetchers, p)
		return p
	}
	br := bufioPool.Get().(*bufio.Reader)
	br.Reset(r)
	rd.pooled = append(rd.pooled, br)
	return br
}

// bufioPool keeps the read buffers of closed Readers for the next ones:
// a program that reads many small files (ftpdiag --each, the triage
// service) would otherwise allocate, clear and collect 1 MiB per file.
var bufioPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, bufferSize) }}

// stopPrefetch ends the read-ahead goroutines and gives the read buffers
// back to the pool.
func (rd *Reader) stopPrefetch() {
	for _, p := range rd.prefetchers {
		p.Close()
	}
	rd.prefetchers = nil
	for _, br := range rd.pooled {
		br.Reset(nil)
		bufioPool.Put(br)
	}
	rd.pooled = nil
}

// open sniffs the input and reads the file header. With prefetch, the
// decompression of a gzip-compressed input runs ahead on a goroutine of its
// own; the input itself is read in the caller's goroutine (a goroutine
// that reads plain files ahead cost as much as it saved: DecodeAhead
// reads and decodes on another core instead).
func (rd *Reader) open(prefetch int) (*Reader, error) {
	br := rd.buffered(rd.count, 0)
	head, err := br.Peek(16)
	if len(head) < 2 && err != nil && err != io.EOF {
		return nil, rd.fail(0, "", -1, readError{err})
	}
	if len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			if isGzipError(err) || err == io.EOF {
				if err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				return nil, rd.fail(0, "gzip header", 0, gzipError{err})
			}
			return nil, rd.fail(0, "", 0, readError{err})
		}
		rd.gz = zr
		br = rd.buffered(zr, prefetch)
		head, err = br.Peek(16)
		if len(head) < 4 && err != nil && err != io.EOF {
			if isGzipError(err) {
				return nil, rd.fail(0, "", -1, gzipError{err})
			}
			return nil, rd.fail(0, "", 0, readError{err})
		}
	}
	rd.br = br
	return rd.start(head)
}

// start sniffs the container format from head and reads the file header.
func (rd *Reader) start(head []byte) (*Reader, error) {
	if len(head) >= 4 {
		magic := binary.LittleEndian.Uint32(head)
		if magic == blockSHB {
			rd.format = FormatPcapNG
			if err := rd.readSHB(); err != nil {
				return nil, err
			}
			return rd, nil
		}
		if ok, be, nano, modified := sniffPcap(magic); ok {
			rd.format = FormatPcap
			if err := rd.readPcapHeader(be, nano, modified); err != nil {
				return nil, err
			}
			return rd, nil
		}
	}
	return nil, rd.fail(0, "", -1, &notCaptureError{head: slices.Clone(head), compressed: rd.gz != nil})
}

// Open opens the named capture file for reading; "-" reads standard input.
// The Reader owns the file it opened and closes it in Close (standard input
// is left open). A gzip-compressed file is decompressed ahead, in a
// goroutine of its own.
func Open(path string) (*Reader, error) {
	return open(path, prefetchChunk)
}

// OpenSequential opens a capture file as Open does, but reads it in the
// calling goroutine only.
func OpenSequential(path string) (*Reader, error) {
	return open(path, 0)
}

func open(path string, prefetch int) (*Reader, error) {
	if path == "-" {
		return NewReader(os.Stdin, "-")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	r, err := newReader(f, path, prefetch)
	if err != nil {
		f.Close()
		return nil, err
	}
	r.file = f
	return r, nil
}

// Interface describes the file's interface i, as Packet.Interface numbers
// them: a classic pcap file has one, interface 0; a pcapng file's
// interfaces are numbered in order of description across its sections,
// an interface described again the same way, at the same place, by a later
// section keeping its number. Every packet's interface is described by the
// time Next returns the packet. The Options slice is shared: do not modify
// it.
func (r *Reader) Interface(i int) Interface { return r.interfaces[i] }

// Consumed returns how many bytes of the input have been read so far (of
// the compressed file, for gzip), for progress reports.
func (r *Reader) Consumed() int64 { return r.count.n.Load() }

// Next returns the next packet. The packet and its Data are valid only until
// the next call to Next. At the clean end of the file Next returns io.EOF; on
// damage it returns a *FormatError, after every packet before the damage. Any
// error is returned again by later calls.
func (r *Reader) Next() (*Packet, error) {
	if r.err != nil {
		return nil, r.err
	}
	var p *Packet
	var err error
	if r.format == FormatPcap {
		p, err = r.nextPcap()
	} else {
		p, err = r.nextNG()
	}
	if err != nil {
		r.stop(err)
		return nil, err
	}
	return p, nil
}

// stop records the error that ends reading.
func (r *Reader) stop(err error) {
	r.err = err
	if err == io.EOF {
		r.complete = true
		return
	}
	var fe *FormatError
	if errors.As(err, &fe) {
		r.errText = fe.textWithoutFile()
	} else {
		r.errText = strings.TrimPrefix(err.Error(), r.name+": ")
	}
}

// discardPending drops the bytes of the record returned last, which stayed
// in the buffer so that its Data remained valid.
func (r *Reader) discardPending() {
	if r.pending > 0 {
		r.br.Discard(r.pending) // cannot fail: the bytes were peeked
		r.pending = 0
	}
}

// Info describes the file and what has been read so far. Complete is true
// only once Next has returned io.EOF; when reading stopped on an error, the
// error text (without the file name) ends Warnings.
func (r *Reader) Info() Info {
	in := Info{
		Name:       r.name,
		Format:     r.format,
		Compressed: r.gz != nil,
		LinkTypes:  slices.Clone(r.linkTypes),
		Snaplen:    int(r.maxSnaplen),
		Nanosecond: r.nano,
		Packets:    r.packets,
		Bytes:      r.off,
		Warnings:   r.warns.render(),
		Complete:   r.complete,
	}
	if r.timed {
		in.First = time.Unix(r.firstSec, r.firstNs).UTC()
		in.Last = time.Unix(r.lastSec, r.lastNs).UTC()
	}
	if r.errText != "" {
		in.Warnings = append(in.Warnings, r.errText)
	}
	return in
}

// Close releases the Reader and closes the file that Open opened. Next
// returns an error after Close, and the Data of the packets returned before
// is no longer valid: the read buffer goes back to a pool.
func (r *Reader) Close() error {
	r.err = fmt.Errorf("%s: %w", r.name, os.ErrClosed)
	// gzip.Reader.Close only repeats a decompression error, which Next has
	// already reported; it does not close the file beneath.
	r.stopPrefetch()
	var err error
	if r.file != nil {
		err = r.file.Close()
		r.file = nil
	}
	return err
}

// fail builds the error for damage found in record (or, when record is 0,
// in the structure named where) starting at off. Errors of the underlying
// reader are returned as plain errors with the file name and offset.
func (r *Reader) fail(record int, where string, off int64, err error) error {
	var re readError
	if errors.As(err, &re) {
		if off < 0 {
			return fmt.Errorf("%s: %w", r.name, re.err)
		}
		return fmt.Errorf("%s: reading at offset %d: %w", r.name, off, re.err)
	}
	return &FormatError{File: r.name, Offset: off, Record: record, where: where, Err: err}
}

// short explains why only got of the want bytes of part could be read.
func (r *Reader) short(part string, got, want int, err error) error {
	switch {
	case err == nil || err == io.EOF:
		return &truncatedError{part: part, got: got, want: want}
	case r.gz != nil && isGzipError(err):
		return &truncatedError{part: part, got: got, want: want, gzip: err}
	}
	return readError{err}
}

// u16 and u32 decode in the byte order of the file or section.
func (r *Reader) u16(b []byte) uint16 {
	if r.be {
		return binary.BigEndian.Uint16(b)
	}
	return binary.LittleEndian.Uint16(b)
}

func (r *Reader) u32(b []byte) uint32 {
	if r.be {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

// emit fills the reader's Packet for the record just read (r.frame) and
// updates the counters Info reports. timed is false for a packet that
// carries no timestamp of its own and none to borrow.
func (r *Reader) emit(sec, ns int64, data []byte, orig uint32, lt layers.LinkType, timed bool) *Packet {
	if sec < minSec || sec > maxSec {
		r.warns.add(warnTimeRange, 0, r.frame, 0)
		sec, ns = min(max(sec, minSec), maxSec), 0
	}
	if timed {
		switch {
		case !r.timed:
			r.timed = true
			r.firstSec, r.firstNs, r.lastSec, r.lastNs = sec, ns, sec, ns
		case sec < r.prevSec || sec == r.prevSec && ns < r.prevNs:
			r.warns.add(warnBackwards, 0, r.frame, 0)
			if sec < r.firstSec || sec == r.firstSec && ns < r.firstNs {
				r.firstSec, r.firstNs = sec, ns
			}
		case sec > r.lastSec || sec == r.lastSec && ns > r.lastNs:
			r.lastSec, r.lastNs = sec, ns
		}
		r.prevSec, r.prevNs = sec, ns
	}
	r.packets++
	p := &r.pkt
	p.Data = data
	p.Timestamp = time.Unix(sec, ns).UTC()
	p.OriginalLength = int(orig)
	p.LinkType = lt
	p.Frame = r.frame
	return p
}

// The timestamps a report can write (RFC 3339 years 1970 to 9999): a
// file's absurd timestamps are clamped to them, with a warning.
const (
	minSec = 0
	maxSec = 253402300799 // 9999-12-31T23:59:59Z
)

// addLinkType records a link type and snapshot length declared by the file.
func (r *Reader) addLinkType(lt layers.LinkType, snaplen uint32) {
	if r.linkSeen == nil {
		r.linkSeen = new([1 << 16 / 64]uint64)
	}
	if bit := uint64(1) << (lt % 64); r.linkSeen[lt/64]&bit == 0 {
		r.linkSeen[lt/64] |= bit
		r.linkTypes = append(r.linkTypes, lt)
	}
	r.maxSnaplen = max(r.maxSnaplen, snaplen)
}

// capLimitError explains a captured length above maxRecordLen.
func capLimitError(caplen, snaplen uint32) error {
	if snaplen != 0 && caplen > snaplen {
		return fmt.Errorf("captured length %d exceeds snapshot length %d", caplen, snaplen)
	}
	return fmt.Errorf("captured length %d exceeds limit %d", caplen, maxRecordLen)
}

// warnKind names a quirk that is tolerated with a warning.
type warnKind uint8

const (
	warnBackwards    warnKind = iota // timestamps go backwards
	warnOrigShort                    // original length < captured length
	warnOverSnaplen                  // captured length > snapshot length (detail: snaplen)
	warnFraction                     // pcap sub-second field of a second or more
	warnUndescribed                  // packet on an interface never described (detail: interface)
	warnUnknownBlock                 // unknown pcapng block type (detail: type)
	warnJournal                      // systemd journal export block
	warnTsresol                      // unsupported if_tsresol (detail: value)
	warnOptions                      // malformed interface options
	warnVersion                      // unusual pcap version (detail: major<<16 | minor)
	warnTimeRange                    // timestamp before 1970 or after 9999, clamped
	warnSecrets                      // decryption secrets skipped (detail: secretsTooMuch, secretsBadLength)
)

// Details of warnSecrets.
const (
	secretsTooMuch   = 1 // beyond maxSecretsLen
	secretsBadLength = 2 // a secrets length beyond its block
)

// warning counts one kind of quirk and where it was first met.
type warning struct {
	kind   warnKind
	detail uint64
	count  int
	frame  int   // the first occurrence's frame, or 0 when it is a block
	offset int64 // the first occurrence's offset, when frame is 0
}

// warnings collects quirks: each kind once, with a count.
type warnings struct {
	list  []warning
	other int // occurrences of kinds past maxWarnings
}

func (w *warnings) add(kind warnKind, detail uint64, frame int, offset int64) {
	for i := range w.list {
		if w.list[i].kind == kind && w.list[i].detail == detail {
			w.list[i].count++
			return
		}
	}
	if len(w.list) >= maxWarnings {
		w.other++
		return
	}
	w.list = append(w.list, warning{kind: kind, detail: detail, count: 1, frame: frame, offset: offset})
}

// render returns the warnings' stable texts, in order of first occurrence.
func (w *warnings) render() []string {
	if len(w.list) == 0 {
		return nil
	}
	out := make([]string, 0, len(w.list)+1)
	for _, x := range w.list {
		out = append(out, x.String())
	}
	if w.other > 0 {
		out = append(out, fmt.Sprintf("%d more warnings of other kinds", w.other))
	}
	return out
}

// String words the warning, for example "timestamps go backwards 5 times,
// first at frame 17".
func (x warning) String() string {
	var what string
	switch x.kind {
	case warnBackwards:
		what = "timestamps go backwards"
	case warnOrigShort:
		what = "original length less than captured length"
	case warnOverSnaplen:
		what = fmt.Sprintf("captured length exceeds snapshot length %d", x.detail)
	case warnFraction:
		what = "sub-second timestamp field of a second or more"
	case warnUndescribed:
		what = fmt.Sprintf("packet on undescribed interface %d skipped", x.detail)
	case warnUnknownBlock:
		what = fmt.Sprintf("unknown block type 0x%08x skipped", x.detail)
	case warnJournal:
		what = "systemd journal export block skipped"
	case warnTsresol:
		what = fmt.Sprintf("unsupported timestamp resolution 0x%02x, microseconds assumed", x.detail)
	case warnOptions:
		what = "malformed interface options ignored"
	case warnVersion:
		what = fmt.Sprintf("unusual pcap version %d.%d", x.detail>>16, x.detail&0xffff)
	case warnTimeRange:
		what = "timestamps before 1970 or after 9999 (clamped)"
	case warnSecrets:
		what = "decryption secrets block skipped: more than 16 MiB of secrets in the file"
		if x.detail == secretsBadLength {
			what = "decryption secrets block skipped: its secrets length exceeds the block"
		}
	default:
		what = "warning " + strconv.Itoa(int(x.kind))
	}
	where := fmt.Sprintf("frame %d", x.frame)
	if x.frame == 0 {
		where = fmt.Sprintf("offset %d", x.offset)
	}
	if x.count == 1 {
		return what + " at " + where
	}
	return fmt.Sprintf("%s %d times, first at %s", what, x.count, where)
}
