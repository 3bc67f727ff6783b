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
	session    *Session
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
	t.assembler.AssembleWithContext(d.NetFlow, &t.fullTCP, ctx)
}

type streamFactory struct{ t *Tracker }

// New implements reassembly.StreamFactory.
func (f *streamFactory) New(_, _ gopacket.Flow, _ *layers.TCP, ac reassembly.AssemblerContext) reassembly.Stream {
	ctx := ac.(*assembleContext)
	cs := &controlStream{s: ctx.session, firstFromClient: ctx.fromClient}
	ctx.session.stream = cs
	return cs
}

// controlStream receives a control connection's reassembled bytes.
type controlStream struct {
	s               *Session // nil once the session settled
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
	if cs.s == nil {
		return
	}
	dir, _, _, skip := sg.Info()
	side := Server
	if (dir == reassembly.TCPDirClientToServer) == cs.firstFromClient {
		side = Client
	}
	if skip != 0 {
		cs.s.gap(side, skip)
	}
	n, _ := sg.Lengths()
	if n == 0 || cs.s.dropped {
		return
	}
	data := sg.Fetch(n)
	cs.s.feed(side, data, func(off int) Event {
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
	if s := cs.s; s != nil && s.Control.Closed() {
		s.release()
		s.released = true
	}
	return true
}

// lineState splits one direction of a control connection into lines, and
// skips TLS records once the channel is encrypted.
type lineState struct {
	buf      []byte
	start    Event // where the current line began
	overlong bool
	tls      bool
	tlsHdr   [5]byte
	tlsHdrN  int
	tlsLeft  int // bytes of the current TLS record still to skip
}

// gap records a hole in one direction of the control stream. skip is the
// number of missing bytes, or negative when unknown.
func (s *Session) gap(side Side, skip int) {
	s.Gaps[side]++
	s.resync = true
	if skip > 0 {
		s.GapBytes[side] += int64(skip)
	}
	ls := &s.lines[side]
	ls.buf = ls.buf[:0]
	ls.overlong = false
	ls.tlsHdrN, ls.tlsLeft = 0, 0
}

// feed takes reassembled bytes from one side. at maps an offset in data to
// the event of the packet that carried it.
func (s *Session) feed(side Side, data []byte, at func(int) Event) {
	ls := &s.lines[side]
	for i := 0; i < len(data) && !s.dropped; {
		if ls.tls {
			i += s.skipTLS(side, data[i:], at, i)
			continue
		}
		if len(ls.buf) == 0 && !ls.overlong {
			ls.start = at(i)
			if s.authSent && looksLikeTLS(data[i:]) {
				ls.tls = true
				if s.TLS != nil && !s.TLS.Handshake.Seen() {
					s.TLS.Handshake = ls.start
				}
				continue
			}
		}
		j := bytes.IndexByte(data[i:], '\n')
		if j < 0 {
			ls.add(data[i:], s)
			break
		}
		ls.add(data[i:i+j], s)
		i += j + 1
		line := ls.buf
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		text := string(line)
		ls.buf = ls.buf[:0]
		ls.overlong = false
		if side == Client {
			s.command(text, ls.start)
		} else {
			s.replyLine(text, ls.start)
		}
	}
}

// add appends to the current line up to maxLineLen bytes.
func (ls *lineState) add(b []byte, s *Session) {
	room := maxLineLen - len(ls.buf)
	if len(b) > room {
		if !ls.overlong {
			ls.overlong = true
			s.LongLines++
		}
		b = b[:room]
	}
	ls.buf = append(ls.buf, b...)
}

// looksLikeTLS reports whether b starts with a TLS record header: content
// type 20-23 and major version 3.
func looksLikeTLS(b []byte) bool {
	if len(b) == 0 || b[0] < 20 || b[0] > 23 {
		return false
	}
	return len(b) < 2 || b[1] == 3
}

// skipTLS consumes TLS records from b and returns how many bytes it used.
// At a record boundary, bytes that are not a TLS record mean the channel
// went back to clear text (CCC, or a TLS close the peers agreed on).
func (s *Session) skipTLS(side Side, b []byte, at func(int) Event, base int) int {
	ls := &s.lines[side]
	used := 0
	for used < len(b) {
		if ls.tlsLeft > 0 {
			n := min(ls.tlsLeft, len(b)-used)
			ls.tlsLeft -= n
			used += n
			continue
		}
		if ls.tlsHdrN == 0 && (b[used] < 20 || b[used] > 24) {
			ls.tls = false
			if s.TLS != nil && !s.TLS.ClearAgain.Seen() {
				s.TLS.ClearAgain = at(base + used)
			}
			return used
		}
		ls.tlsHdr[ls.tlsHdrN] = b[used]
		ls.tlsHdrN++
		used++
		if ls.tlsHdrN == len(ls.tlsHdr) {
			ls.tlsLeft = int(ls.tlsHdr[3])<<8 | int(ls.tlsHdr[4])
			ls.tlsHdrN = 0
		}
	}
	return used
}
