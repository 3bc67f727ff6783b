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

// update accounts one packet from side.
func (c *Conn) update(side Side, tcp *pcap.TCP, payload int, ev Event) {
	c.Last = ev
	c.Packets[side]++
	ds := &c.dir[side]
	seq := tcp.Seq
	if tcp.SYN {
		if !ds.synSeen {
			ds.synSeen = true
			ds.isn = seq
			ds.start(seq + 1)
			c.MSS[side] = tcp.MSS()
			if side == Client && !tcp.ACK {
				c.ISN = seq
				c.TSval, c.HasTS = tcp.TSval()
			}
		}
		if tcp.ACK {
			if side == Server {
				c.SYNACKCount++
				if !c.SYNACK.Seen() {
					c.SYNACK = ev
				}
			}
		} else if side == Client {
			c.SYNCount++
			if len(c.SYNs) < maxSYNEvents {
				c.SYNs = append(c.SYNs, ev)
			}
		}
		seq++
	}
	if !ds.init {
		ds.start(seq)
	}
	if tcp.SYN || tcp.FIN || tcp.RST {
		if v, ok := tcp.TSval(); ok {
			ds.tsval, ds.hasTS = v, true
		}
	}
	r := ds.rel(seq)
	if payload > 0 {
		end := r + int64(payload)
		if r < ds.high {
			c.Retransmissions[side]++
			if payload > smallSegment {
				c.LargeRetransmissions[side]++
			}
			if end > ds.high {
				c.Captured[side] += end - ds.high
				ds.high = end
			}
		} else {
			if r > ds.high {
				ds.hole = r
			}
			c.Captured[side] += int64(payload)
			ds.high = end
		}
		if payload > c.MaxSegment[side] {
			c.MaxSegment[side] = payload
		}
		if !c.FirstData.Seen() {
			c.FirstData = ev
		}
		c.LastData = ev
	}
	if ds.high > c.Bytes[side] {
		c.Bytes[side] = ds.high
	}
	if side == Client && tcp.ACK && !tcp.SYN && c.SYNACK.Seen() && !c.HandshakeACK.Seen() {
		c.HandshakeACK = ev
	}
	if tcp.FIN && !c.FIN[side].Seen() {
		c.FIN[side] = ev
	}
	if tcp.RST && c.Reset == nil {
		c.Reset = &Reset{From: side, Event: ev}
	}
	if tcp.ACK && !tcp.RST {
		peer := side.Other()
		ps := &c.dir[peer]
		if ps.init {
			a := ps.lastRel + int64(int32(tcp.Ack-ps.last))
			if ps.hole != 0 && a >= ps.hole {
				ps.hole = 0
				c.holeAcked = true
			}
			if a > ps.acked {
				ps.acked = a
				acked := a
				if c.FIN[peer].Seen() && acked > ps.high {
					acked = ps.high // the FIN's sequence number is not data
				}
				if acked > c.Acked[peer] {
					c.Acked[peer] = acked
				}
				if acked > c.Bytes[peer] {
					c.Bytes[peer] = acked // acknowledged, so sent, even if not captured
				}
			}
		}
	}
}
