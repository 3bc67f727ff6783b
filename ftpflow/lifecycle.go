package ftpflow

import (
	"net/netip"
	"time"

	"ftpdiag/pcap"
)

// newIncarnation reports whether a SYN from src with sequence number seq
// opens a new connection on c's 5-tuple rather than retransmitting c's SYN.
func (c *Conn) newIncarnation(src netip.AddrPort, seq uint32) bool {
	ds := &c.dir[c.Side(src)]
	switch {
	case ds.synSeen && ds.isn == seq:
		return false // a retransmitted SYN
	case c.Closed(), ds.synSeen:
		return true
	}
	// A SYN on a connection known only from stray packets (a late ACK, a
	// RST) replaces it; one on a connection that carried data does not.
	return c.Captured[Client] == 0 && c.Captured[Server] == 0
}

// summary describes c for TIME-WAIT reasoning about a later connection on
// the same 5-tuple.
func (c *Conn) summary() PreviousIncarnation {
	p := PreviousIncarnation{ConnID: c.ID, Client: c.Client, Closed: c.closedAt, Reset: c.Reset != nil}
	if !p.Closed.Seen() {
		p.Closed = c.Last
	}
	f0, f1 := c.FIN[Client], c.FIN[Server]
	p.BothFIN = f0.Seen() && f1.Seen()
	switch {
	case f0.Seen() && f1.Seen():
		if compareEvents(f1, f0) < 0 {
			p.FirstFIN = Server
		}
	case f1.Seen():
		p.FirstFIN = Server
	}
	for s := Client; s <= Server; s++ {
		ds := &c.dir[s]
		if !ds.init {
			continue
		}
		end := ds.high
		if c.FIN[s].Seen() {
			end++
		}
		p.LastSeq[s] = ds.last + uint32(end-ds.lastRel)
		p.LastTSval[s], p.HasTS[s] = ds.tsval, ds.hasTS
	}
	return p
}

// duplicate reports whether a packet repeats the previous one from the same
// side field for field within duplicateWindow: a copy made by the capture
// (a packet seen on two interfaces), not a TCP retransmission.
func (c *Conn) duplicate(side Side, tcp *pcap.TCP, d *pcap.Decoded, ev Event) bool {
	ds := &c.dir[side]
	fl := flagBits(tcp)
	ns := ev.Time.UnixNano()
	dt := time.Duration(ns - ds.dupTime)
	dup := ds.dupTime != 0 && dt >= 0 && dt <= duplicateWindow &&
		tcp.Seq == ds.dupSeq && tcp.Ack == ds.dupAck && fl == ds.dupFlags &&
		int32(d.PayloadLen) == ds.dupLen && d.IPID == ds.dupID
	ds.dupSeq, ds.dupAck, ds.dupFlags, ds.dupLen, ds.dupID, ds.dupTime = tcp.Seq, tcp.Ack, fl, int32(d.PayloadLen), d.IPID, ns
	return dup
}

// update accounts one packet from side, in the order TCP reads it: its
// SYN, its payload (new or retransmitted), its FIN or RST, then what its
// ACK says of the peer's data.
func (c *Conn) update(side Side, tcp *pcap.TCP, payload int, ev Event) {
	c.Last = ev
	c.Packets[side]++
	seq := tcp.Seq
	if tcp.SYN {
		c.syn(side, tcp, ev)
		seq++ // the SYN takes one sequence number
	}
	ds := &c.dir[side]
	if !ds.init {
		ds.start(seq)
	}
	if tcp.SYN || tcp.FIN || tcp.RST {
		ds.noteTSval(tcp)
	}
	if r := ds.rel(seq); payload > 0 {
		c.payload(side, ds, r, payload, ev)
	}
	if c.completesHandshake(side, tcp) {
		c.HandshakeACK = ev
	}
	if tcp.FIN || tcp.RST {
		c.finOrReset(side, tcp, ev)
	}
	if tcp.ACK && !tcp.RST {
		c.ack(side.Other(), tcp.Ack)
	}
}

// syn accounts a SYN from side. The side's first SYN anchors its sequence
// space and gives its MSS (and, for the client's, the ISN and timestamp
// that TIME-WAIT reasoning compares); the client's SYNs are counted and
// listed, the server's SYN-ACKs counted.
func (c *Conn) syn(side Side, tcp *pcap.TCP, ev Event) {
	ds := &c.dir[side]
	if !ds.synSeen {
		ds.synSeen = true
		ds.isn = tcp.Seq
		ds.start(tcp.Seq + 1)
		c.MSS[side] = tcp.MSS()
		if side == Client && !tcp.ACK {
			c.ISN = tcp.Seq
			c.TSval, c.HasTS = tcp.TSval()
		}
	}
	switch {
	case tcp.ACK && side == Server:
		c.SYNACKCount++
		if !c.SYNACK.Seen() {
			c.SYNACK = ev
		}
	case !tcp.ACK && side == Client:
		c.SYNCount++
		if len(c.SYNs) < maxSYNEvents {
			c.SYNs = append(c.SYNs, ev)
		}
	}
}

// noteTSval keeps the timestamp value of a SYN, FIN or RST, for TIME-WAIT
// reasoning about a later connection on the same 5-tuple.
func (s *seqState) noteTSval(tcp *pcap.TCP) {
	if v, ok := tcp.TSval(); ok {
		s.tsval, s.hasTS = v, true
	}
}

// payload accounts n payload bytes from side (whose sequence space is ds)
// at relative sequence number r. A segment that starts below the highest
// byte seen resends sequence space (a retransmission: only what lies
// beyond is new); one that starts above it leaves a hole, bytes the
// capture lacks.
func (c *Conn) payload(side Side, ds *seqState, r int64, n int, ev Event) {
	switch {
	case r < ds.high:
		c.Retransmissions[side]++
		if n > smallSegment {
			c.LargeRetransmissions[side]++
		}
	case r > ds.high:
		ds.hole = r
	}
	if end := r + int64(n); end > ds.high {
		c.Captured[side] += end - max(r, ds.high)
		ds.high = end
	}
	c.Bytes[side] = max(c.Bytes[side], ds.high)
	c.MaxSegment[side] = max(c.MaxSegment[side], n)
	if !c.FirstData.Seen() {
		c.FirstData = ev
	}
	c.LastData = ev
}

// completesHandshake reports whether a packet from side is the client's
// first ACK after the SYN-ACK.
func (c *Conn) completesHandshake(side Side, tcp *pcap.TCP) bool {
	return side == Client && tcp.ACK && !tcp.SYN && c.SYNACK.Seen() && !c.HandshakeACK.Seen()
}

// finOrReset records side's first FIN and the connection's first RST.
func (c *Conn) finOrReset(side Side, tcp *pcap.TCP, ev Event) {
	if tcp.FIN && !c.FIN[side].Seen() {
		c.FIN[side] = ev
	}
	if tcp.RST && c.Reset == nil {
		c.Reset = &Reset{From: side, Event: ev}
	}
}

// ack accounts an acknowledgement of peer's bytes up to the raw sequence
// number seq. An ACK past a hole in peer's captured payload means the
// missing bytes arrived and the capture lost them (holeAcked). Bytes
// acknowledged were sent, even those the capture lacks, so they count in
// Bytes as well as in Acked; a FIN's sequence number is not data.
func (c *Conn) ack(peer Side, seq uint32) {
	ps := &c.dir[peer]
	if !ps.init {
		return
	}
	a := ps.relOf(seq)
	if ps.hole != 0 && a >= ps.hole {
		ps.hole = 0
		c.holeAcked = true
	}
	if a <= ps.acked {
		return
	}
	ps.acked = a
	if c.FIN[peer].Seen() && a > ps.high {
		a = ps.high
	}
	c.Acked[peer] = max(c.Acked[peer], a)
	c.Bytes[peer] = max(c.Bytes[peer], a)
}
