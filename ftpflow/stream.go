package ftpflow

import (
	"bytes"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/reassembly"

	"ftpdiag/pcap"
)

// maxLineLen bounds a control line; longer lines are cut to this length
// and counted in Session.LongLines.
const maxLineLen = 8 << 10

// assembleContext carries a control packet's capture time and frame into
// the reassembler, and tells the stream factory which side sent it.
type assembleContext struct {
	ci         gopacket.CaptureInfo
	session    *sessionState
	fromClient bool
}

// GetCaptureInfo implements reassembly.AssemblerContext.
func (a *assembleContext) GetCaptureInfo() gopacket.CaptureInfo { return a.ci }

// assemble hands a control connection's packet to the reassembler, with
// capture time, never wall-clock time.
func (t *Tracker) assemble(c *Conn, side Side, d *pcap.Decoded, ev Event) {
	ctx := &assembleContext{
		ci: gopacket.CaptureInfo{
			Timestamp:     ev.Time,
			AncillaryData: []interface{}{ev},
		},
		session:    c.session,
		fromClient: side == Client,
	}
	if err := d.TCP.Full(&t.fullTCP); err != nil {
		return // the light decoder accepted what gopacket's refuses: skip it
	}
	t.hold(c.session, side, d.NetFlow, &t.fullTCP, ctx)
}

type streamFactory struct{ t *Tracker }

// New implements reassembly.StreamFactory.
func (f *streamFactory) New(_, _ gopacket.Flow, _ *layers.TCP, ac reassembly.AssemblerContext) reassembly.Stream {
	ctx := ac.(*assembleContext)
	cs := &controlStream{st: ctx.session, firstFromClient: ctx.fromClient}
	ctx.session.stream = cs
	return cs
}

// controlStream receives a control connection's reassembled bytes.
type controlStream struct {
	st              *sessionState // nil once the session settled
	firstFromClient bool
}

// Accept implements reassembly.Stream. Every segment is accepted and a
// stream caught mid-way starts where the capture does.
func (cs *controlStream) Accept(_ *layers.TCP, _ gopacket.CaptureInfo, _ reassembly.TCPFlowDirection, _ reassembly.Sequence, start *bool, _ reassembly.AssemblerContext) bool {
	*start = true
	return true
}

// ReassembledSG implements reassembly.Stream.
func (cs *controlStream) ReassembledSG(sg reassembly.ScatterGather, _ reassembly.AssemblerContext) {
	st := cs.st
	if st == nil {
		return
	}
	dir, _, _, skip := sg.Info()
	side := Server
	if (dir == reassembly.TCPDirClientToServer) == cs.firstFromClient {
		side = Client
	}
	if skip != 0 {
		st.gap(side, skip)
	}
	n, _ := sg.Lengths()
	if n == 0 || st.dropped {
		return
	}
	data := sg.Fetch(n)
	st.feed(side, data, func(off int) Event {
		ci := sg.CaptureInfo(off)
		if len(ci.AncillaryData) > 0 {
			if ev, ok := ci.AncillaryData[0].(Event); ok {
				return ev
			}
		}
		return Event{Time: ci.Timestamp}
	})
}

// ReassemblyComplete implements reassembly.Stream. The assembler forgets
// the connection (true). Once the control connection has closed, the
// tracker feeds it no more segments, so the ACK after both FINs does not
// open a new stream. When the assembler gave up on an idle connection
// instead, the session keeps its state and a later segment opens a new
// stream that carries on where this one stopped.
func (cs *controlStream) ReassemblyComplete(reassembly.AssemblerContext) bool {
	if st := cs.st; st != nil && st.s.Control.Closed() {
		st.release()
		st.released = true
	}
	return true
}

// lineState is one direction of a control connection: its lines, the
// TLS records it skips (or decrypts) once the channel is encrypted, and
// the lines of the decrypted records.
type lineState struct {
	lines lineSplitter
	start Event // where the current line began
	tls   tlsSkipper
	plain lineSplitter // decrypted bytes (decrypt.go)
}

// gap records a hole in one direction of the control stream. skip is the
// number of missing bytes, or negative when unknown.
func (st *sessionState) gap(side Side, skip int) {
	st.s.Gaps[side]++
	st.resync = true
	if skip > 0 {
		st.s.GapBytes[side] += int64(skip)
	}
	ls := &st.lines[side]
	ls.lines.reset()
	if ls.tls.on {
		st.decryptHole(side)
	}
	ls.tls.realign()
	if side == Client {
		st.secrecy.hole()
	}
}

// feed takes reassembled bytes from one side: it cuts them into lines for
// the parser or, once the direction turned to TLS, decrypts its records
// (with the keys) or skips them. at maps an offset in data to the event of
// the packet that carried it.
func (st *sessionState) feed(side Side, data []byte, at func(int) Event) {
	ls := &st.lines[side]
	for i := 0; i < len(data) && !st.dropped; {
		if ls.tls.on {
			i += st.skipTLS(side, data[i:], at, i)
			continue
		}
		if !ls.lines.inLine() {
			ls.start = at(i)
			if (st.authSent || st.nothingRead()) && looksLikeTLS(data[i:]) {
				st.startTLS(ls)
				continue
			}
		}
		n, line, ended, cut := ls.lines.split(data[i:])
		i += n
		if cut {
			st.s.LongLines++
		}
		if ended {
			st.line(side, string(line), ls.start)
		}
	}
}

// line hands a complete line to the parser of its side.
func (st *sessionState) line(side Side, text string, start Event) {
	if side == Client {
		st.command(text, start)
	} else {
		st.replyLine(text, start)
	}
}

// lineSplitter cuts one direction of a control connection into lines, as
// net/textproto's readLineSlice does: a line ends at LF, and a CR just
// before the LF is dropped, so CRLF and bare LF both end a line. A line is
// kept to maxLineLen bytes; the rest is dropped, and the line reported cut
// once. It knows nothing of FTP. The zero value is ready to use.
type lineSplitter struct {
	buf []byte // the line so far, at most maxLineLen bytes
	cut bool   // the line so far went past maxLineLen
}

// split consumes data up to and including its first LF and returns how
// many bytes it used. ended reports that those bytes end a line; line is
// then that line without its ending, valid until the next call. cut
// reports that this call took the line past maxLineLen.
func (ls *lineSplitter) split(data []byte) (n int, line []byte, ended, cut bool) {
	j := bytes.IndexByte(data, '\n')
	if j < 0 {
		return len(data), nil, false, ls.add(data)
	}
	cut = ls.add(data[:j])
	line = bytes.TrimSuffix(ls.buf, []byte{'\r'})
	ls.buf, ls.cut = ls.buf[:0], false
	return j + 1, line, true, cut
}

// add appends b to the line within maxLineLen, and reports whether that
// took the line past maxLineLen for the first time.
func (ls *lineSplitter) add(b []byte) bool {
	room := maxLineLen - len(ls.buf)
	if len(b) <= room {
		ls.buf = append(ls.buf, b...)
		return false
	}
	ls.buf = append(ls.buf, b[:room]...)
	first := !ls.cut
	ls.cut = true
	return first
}

// inLine reports whether a line has begun: bytes of it were consumed.
func (ls *lineSplitter) inLine() bool { return len(ls.buf) > 0 || ls.cut }

// reset forgets the line begun (a hole in the stream cut it).
func (ls *lineSplitter) reset() { ls.buf, ls.cut = ls.buf[:0], false }

// tlsRecordType reports whether b is the content type of a TLS record:
// change_cipher_spec (20), alert (21), handshake (22), application_data
// (23) or heartbeat (24, RFC 6520). It is the one rule both for seeing the
// control channel turn to TLS and for seeing it turn back to clear text.
func tlsRecordType(b byte) bool { return b >= 20 && b <= 24 }

// looksLikeTLS reports whether b starts with a TLS record header: a
// record content type (see tlsRecordType) and major version 3.
func looksLikeTLS(b []byte) bool {
	if len(b) == 0 || !tlsRecordType(b[0]) {
		return false
	}
	return len(b) < 2 || b[1] == 3
}

// startTLS turns a direction to TLS at the current line's start, notes
// the first TLS record of the session, and starts decrypting.
func (st *sessionState) startTLS(ls *lineState) {
	ls.tls.on = true
	if !st.authSent {
		st.protect(ls.start, false) // TLS from the first byte captured
	}
	if tls := st.s.TLS; tls != nil && !tls.Handshake.Seen() {
		tls.Handshake = ls.start
	}
	st.startDecrypting()
}

// nothingRead reports whether no line has been read yet from either side:
// TLS records then mean the channel was protected before the capture
// began (or is implicit FTPS).
func (st *sessionState) nothingRead() bool {
	s := st.s
	return s.Commands == 0 && s.Replies == 0 && s.BadLines == 0
}

// skipTLS consumes TLS records from b, record by record, hands each to
// the decrypter with the event of the segment that carried its last byte
// here, and returns how many bytes it used. When clear text follows, it
// notes where (base is b's offset in the data that at maps).
func (st *sessionState) skipTLS(side Side, b []byte, at func(int) Event, base int) int {
	k := &st.lines[side].tls
	used := 0
	for used < len(b) {
		n, clear := k.skipRecord(b[used:])
		if n > 0 {
			st.decrypt(side, b[used:used+n], at(base+used+n-1))
			used += n
		}
		if clear {
			if tls := st.s.TLS; tls != nil && !tls.ClearAgain.Seen() {
				tls.ClearAgain = at(base + used)
			}
			break
		}
	}
	return used
}

// tlsSkipper skips the TLS records of one direction of an encrypted
// control connection, record by record across segments.
type tlsSkipper struct {
	on   bool    // the direction is encrypted
	hdr  [5]byte // the record header read so far
	hdrN int
	left int // bytes of the current record still to skip
}

// skip consumes TLS records from b and returns how many bytes it used. At
// a record boundary, a byte that is not a record content type means the
// channel went back to clear text (CCC, or a TLS close the peers agreed
// on): skip turns off there and reports clear.
func (k *tlsSkipper) skip(b []byte) (used int, clear bool) {
	for used < len(b) && !clear {
		var n int
		n, clear = k.skipRecord(b[used:])
		used += n
	}
	return used, clear
}

// skipRecord is skip up to the end of the current record: it consumes b
// until a record ends, b ends, or clear text begins (clear).
func (k *tlsSkipper) skipRecord(b []byte) (used int, clear bool) {
	for used < len(b) {
		if k.left > 0 {
			n := min(k.left, len(b)-used)
			k.left -= n
			used += n
			if k.left == 0 {
				return used, false
			}
			continue
		}
		if k.hdrN == 0 && !tlsRecordType(b[used]) {
			k.on = false
			return used, true
		}
		k.hdr[k.hdrN] = b[used]
		k.hdrN++
		used++
		if k.hdrN == len(k.hdr) {
			k.left = int(k.hdr[3])<<8 | int(k.hdr[4])
			k.hdrN = 0
			if k.left == 0 {
				return used, false
			}
		}
	}
	return used, false
}

// realign forgets the record being skipped (a hole in the stream lost its
// end): the next byte is taken for a record header.
func (k *tlsSkipper) realign() { k.hdrN, k.left = 0, 0 }
