package ftpflow

import (
	"testing"

	"ftpdiag/pcap"
)

// seg is one packet of a connection in a lifecycle table: who sent it, its
// flags ("S", "SA", "A", "PA", "FA", "R", "RA"), sequence and
// acknowledgement numbers, and payload length.
type seg struct {
	from     Side
	flags    string
	seq, ack uint32
	n        int
}

// play feeds segs to a fresh connection, frames numbered from 1.
func play(segs []seg) *Conn {
	c := new(Conn)
	for i, s := range segs {
		tcp := &pcap.TCP{Seq: s.seq, Ack: s.ack}
		for _, f := range s.flags {
			switch f {
			case 'S':
				tcp.SYN = true
			case 'A':
				tcp.ACK = true
			case 'F':
				tcp.FIN = true
			case 'R':
				tcp.RST = true
			case 'P':
				tcp.PSH = true
			}
		}
		c.update(s.from, tcp, s.n, Event{Frame: i + 1})
	}
	return c
}

// handshake opens a connection: client ISN 1000, server ISN 5000, so the
// client's first data byte is at 1001 and the server's at 5001.
var handshake = []seg{
	{Client, "S", 1000, 0, 0},
	{Server, "SA", 5000, 1001, 0},
	{Client, "A", 1001, 5001, 0},
}

func opened(more ...seg) []seg { return append(append([]seg(nil), handshake...), more...) }

func TestConnSYN(t *testing.T) {
	tests := []struct {
		name                 string
		segs                 []seg
		syns, synacks        int
		synack, handshakeACK int // frames
	}{
		{"handshake", handshake, 1, 1, 2, 3},
		{"SYN retransmitted twice, no answer", []seg{
			{Client, "S", 1000, 0, 0}, {Client, "S", 1000, 0, 0}, {Client, "S", 1000, 0, 0},
		}, 3, 0, 0, 0},
		{"SYN-ACK repeated: the first counts", []seg{
			{Client, "S", 1000, 0, 0}, {Server, "SA", 5000, 1001, 0}, {Server, "SA", 5000, 1001, 0},
			{Client, "A", 1001, 5001, 0},
		}, 1, 2, 2, 4},
		{"ACK before any SYN-ACK is not the handshake's", []seg{
			{Client, "S", 1000, 0, 0}, {Client, "A", 1001, 77, 0}, {Server, "SA", 5000, 1001, 0},
			{Client, "RA", 1001, 5001, 0},
		}, 1, 1, 3, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := play(tt.segs)
			if c.SYNCount != tt.syns || len(c.SYNs) != tt.syns || c.SYNACKCount != tt.synacks {
				t.Errorf("SYNs %d (%d listed), SYN-ACKs %d; want %d, %d", c.SYNCount, len(c.SYNs), c.SYNACKCount, tt.syns, tt.synacks)
			}
			if c.SYNACK.Frame != tt.synack || c.HandshakeACK.Frame != tt.handshakeACK {
				t.Errorf("SYN-ACK frame %d, handshake ACK frame %d; want %d, %d", c.SYNACK.Frame, c.HandshakeACK.Frame, tt.synack, tt.handshakeACK)
			}
			if c.ISN != 1000 {
				t.Errorf("ISN %d, want 1000", c.ISN)
			}
		})
	}
}

func TestConnPayload(t *testing.T) {
	tests := []struct {
		name                   string
		segs                   []seg
		bytes, captured        int64
		retrans, large, maxSeg int
		hole                   int64
	}{
		{"in order", opened(
			seg{Client, "PA", 1001, 5001, 100}, seg{Client, "PA", 1101, 5001, 100},
		), 200, 200, 0, 0, 100, 0},
		{"whole retransmission", opened(
			seg{Client, "PA", 1001, 5001, 1000}, seg{Client, "PA", 1001, 5001, 1000},
		), 1000, 1000, 1, 1, 1000, 0},
		{"small retransmission is not large", opened(
			seg{Client, "PA", 1001, 5001, smallSegment}, seg{Client, "PA", 1001, 5001, smallSegment},
		), smallSegment, smallSegment, 1, 0, smallSegment, 0},
		{"retransmission carrying new bytes counts only those", opened(
			seg{Client, "PA", 1001, 5001, 100}, seg{Client, "PA", 1051, 5001, 100},
		), 150, 150, 1, 0, 100, 0},
		{"hole: bytes counted from sequence numbers, not captured", opened(
			seg{Client, "PA", 1001, 5001, 100}, seg{Client, "PA", 1201, 5001, 100},
		), 300, 200, 0, 0, 100, 200},
		{"hole filled late: a retransmission, not new captured bytes", opened(
			seg{Client, "PA", 1001, 5001, 100}, seg{Client, "PA", 1201, 5001, 100}, seg{Client, "PA", 1101, 5001, 100},
		), 300, 200, 1, 0, 100, 200},
		{"caught mid-stream: the first byte seen is the start", []seg{
			{Client, "PA", 90000, 7, 10}, {Client, "PA", 90010, 7, 10},
		}, 20, 20, 0, 0, 10, 0},
		{"sequence numbers wrap", []seg{
			{Client, "S", 0xffffff00, 0, 0}, {Client, "PA", 0xffffff01, 0, 0x100}, {Client, "PA", 0x01, 0, 0x100},
		}, 0x200, 0x200, 0, 0, 0x100, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := play(tt.segs)
			if c.Bytes[Client] != tt.bytes || c.Captured[Client] != tt.captured {
				t.Errorf("bytes %d captured %d; want %d, %d", c.Bytes[Client], c.Captured[Client], tt.bytes, tt.captured)
			}
			if c.Retransmissions[Client] != tt.retrans || c.LargeRetransmissions[Client] != tt.large || c.MaxSegment[Client] != tt.maxSeg {
				t.Errorf("retransmissions %d (large %d), max segment %d; want %d (%d), %d",
					c.Retransmissions[Client], c.LargeRetransmissions[Client], c.MaxSegment[Client], tt.retrans, tt.large, tt.maxSeg)
			}
			if c.dir[Client].hole != tt.hole {
				t.Errorf("hole ends at %d, want %d", c.dir[Client].hole, tt.hole)
			}
			if first, last := c.FirstData.Frame, c.LastData.Frame; first == 0 || last != len(tt.segs) {
				t.Errorf("first data frame %d, last %d; want the last at %d", first, last, len(tt.segs))
			}
		})
	}
}

func TestConnAck(t *testing.T) {
	tests := []struct {
		name             string
		segs             []seg
		bytes, acked     int64 // the client's
		captured         int64
		holeAcked        bool
		finClient, reset int // frames; reset 0 when none
	}{
		{"data acknowledged", opened(
			seg{Client, "PA", 1001, 5001, 100}, seg{Server, "A", 5001, 1101, 0},
		), 100, 100, 100, false, 0, 0},
		{"acknowledged but never captured", opened(
			seg{Server, "A", 5001, 1501, 0},
		), 500, 500, 0, false, 0, 0},
		{"ACK past a hole: the capture lost the bytes", opened(
			seg{Client, "PA", 1001, 5001, 100}, seg{Client, "PA", 1201, 5001, 100}, seg{Server, "A", 5001, 1301, 0},
		), 300, 300, 200, true, 0, 0},
		{"ACK short of the hole leaves it open", opened(
			seg{Client, "PA", 1001, 5001, 100}, seg{Client, "PA", 1201, 5001, 100}, seg{Server, "A", 5001, 1101, 0},
		), 300, 100, 200, false, 0, 0},
		{"the FIN's sequence number is not data", opened(
			seg{Client, "FPA", 1001, 5001, 100}, seg{Server, "A", 5001, 1102, 0},
		), 100, 100, 100, false, 4, 0},
		{"an old ACK changes nothing", opened(
			seg{Client, "PA", 1001, 5001, 100}, seg{Server, "A", 5001, 1101, 0}, seg{Server, "A", 5001, 1051, 0},
		), 100, 100, 100, false, 0, 0},
		{"a RST's ACK field is not read", opened(
			seg{Client, "PA", 1001, 5001, 100}, seg{Server, "RA", 5001, 1901, 0},
		), 100, 0, 100, false, 0, 5},
		{"only the first FIN and RST are kept", opened(
			seg{Client, "FA", 1001, 5001, 0}, seg{Client, "FA", 1001, 5001, 0}, seg{Client, "R", 1002, 0, 0}, seg{Server, "R", 5001, 0, 0},
		), 0, 0, 0, false, 4, 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := play(tt.segs)
			if c.Bytes[Client] != tt.bytes || c.Acked[Client] != tt.acked || c.Captured[Client] != tt.captured {
				t.Errorf("bytes %d acked %d captured %d; want %d, %d, %d",
					c.Bytes[Client], c.Acked[Client], c.Captured[Client], tt.bytes, tt.acked, tt.captured)
			}
			if c.holeAcked != tt.holeAcked {
				t.Errorf("holeAcked %v, want %v", c.holeAcked, tt.holeAcked)
			}
			reset := 0
			if c.Reset != nil {
				reset = c.Reset.Frame
			}
			if c.FIN[Client].Frame != tt.finClient || reset != tt.reset {
				t.Errorf("client FIN frame %d, RST frame %d; want %d, %d", c.FIN[Client].Frame, reset, tt.finClient, tt.reset)
			}
		})
	}
}
