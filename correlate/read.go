package correlate

import (
	"context"
	"errors"
	"hash/fnv"
	"io"
	"net/netip"
	"unicode/utf8"

	"ftpdiag/analyze"
	"ftpdiag/pcap"
)

// Bounds on what one file keeps. Beyond them, connections and packets are
// counted in File and not compared.
const (
	// MaxConns is the number of TCP connections fingerprinted per file.
	MaxConns = 1 << 18
	// MaxPacketsPerDir is the number of packets kept per connection and
	// direction: the first ones, where handshakes, FTP dialogues and MTU
	// black holes show.
	MaxPacketsPerDir = 1 << 13
	// MaxPackets is the number of packets kept per file (about 56 bytes
	// each).
	MaxPackets = 1 << 20
	// maxText is the longest payload kept as text, maxTextBytes the text
	// kept per file: enough for every FTP command and reply of thousands
	// of sessions.
	maxText      = 512
	maxTextBytes = 4 << 20
)

// pkt is one TCP segment's fingerprint.
type pkt struct {
	t            int64 // capture time, Unix nanoseconds
	hash         uint64
	frame        int32
	text         int32 // index into fileView.texts, -1 when not kept
	seq, ack     uint32
	tsval        uint32
	ipid         uint16
	plen         uint16 // payload length on the wire (capped)
	win          uint16
	mss          uint16
	ttl          uint8
	flags        uint8
	hasTS, hasID bool
}

const (
	flagFIN = 0x01
	flagSYN = 0x02
	flagRST = 0x04
	flagACK = 0x10
)

func (p *pkt) syn() bool    { return p.flags&(flagSYN|flagACK) == flagSYN }
func (p *pkt) synack() bool { return p.flags&(flagSYN|flagACK) == flagSYN|flagACK }

// conn is one TCP connection as one file saw it. a is the client when a
// SYN or SYN-ACK was seen, else the first sender.
type conn struct {
	a, b        netip.AddrPort
	clientKnown bool
	control     bool // b greeted a with "220"
	sawSYN      bool
	isn         uint32 // a's SYN sequence number, when sawSYN
	pkts        [2][]pkt
	firstSeq    [2]uint32
	firstTS     [2]uint32
	seen        [2]bool
	seenTS      [2]bool
}

// sender returns the source of direction d.
func (c *conn) sender(d int) netip.AddrPort {
	if d == 0 {
		return c.a
	}
	return c.b
}

func (c *conn) endpoints() Endpoints {
	e := Endpoints{Client: c.a, Server: c.b, ClientKnown: c.clientKnown}
	f := int32(0)
	for d := range 2 {
		if len(c.pkts[d]) > 0 && (f == 0 || c.pkts[d][0].frame < f) {
			f = c.pkts[d][0].frame
		}
	}
	e.FirstFrame = int(f)
	return e
}

type tuple struct{ lo, hi netip.AddrPort }

func tupleOf(x, y netip.AddrPort) tuple {
	if x.Compare(y) > 0 {
		x, y = y, x
	}
	return tuple{x, y}
}

// fileView is everything kept of one file.
type fileView struct {
	info      File
	conns     []*conn
	byTuple   map[tuple]*conn
	texts     []string
	textBytes int
	kept      int
	first     int64
	last      int64
}

// openInput opens one input: its stream, else its file.
func openInput(ctx context.Context, in analyze.Input) (*pcap.Reader, error) {
	if in.Reader != nil {
		return pcap.NewReaderContext(ctx, in.Reader, in.Name)
	}
	return pcap.OpenContext(ctx, in.Name, false)
}

// readInput opens one input and fingerprints its connections.
func readInput(ctx context.Context, in analyze.Input) (*fileView, error) {
	r, err := openInput(ctx, in)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	fv := &fileView{info: File{Name: in.Name}, byTuple: map[tuple]*conn{}}
	dec := pcap.NewDecoder()
	for {
		p, err := r.Next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				fv.info.Err = err
			}
			break
		}
		fv.info.Packets++
		ts := p.Timestamp.UnixNano()
		if fv.info.Packets == 1 || ts < fv.first {
			fv.first = ts
			fv.info.First = p.Timestamp
		}
		if ts > fv.last || fv.info.Packets == 1 {
			fv.last = ts
			fv.info.Last = p.Timestamp
		}
		d := dec.Decode(p)
		if d.Kind != pcap.KindTCP {
			continue
		}
		fv.info.TCPPackets++
		fv.add(p, d)
	}
	fv.info.Conns = len(fv.conns)
	return fv, nil
}

func (fv *fileView) add(p *pcap.Packet, d *pcap.Decoded) {
	t := d.TCP
	src := netip.AddrPortFrom(d.Src, t.SrcPort)
	dst := netip.AddrPortFrom(d.Dst, t.DstPort)
	key := tupleOf(src, dst)
	c := fv.byTuple[key]
	pureSYN := t.SYN && !t.ACK
	if c != nil && pureSYN && !(c.sawSYN && c.a == src && c.isn == t.Seq) {
		c = nil // a new SYN on a known tuple: the tuple is reused
	}
	if c == nil {
		if len(fv.conns) >= MaxConns {
			fv.info.DroppedConns++
			return
		}
		c = &conn{a: src, b: dst}
		if t.SYN && t.ACK { // first seen: the answer; its receiver is the client
			c.a, c.b = dst, src
		}
		c.clientKnown = t.SYN
		fv.byTuple[key] = c
		fv.conns = append(fv.conns, c)
	}
	dir := 0
	if src != c.a {
		dir = 1
	}
	if pureSYN && dir == 0 {
		c.sawSYN, c.isn = true, t.Seq
	}
	if !c.seen[dir] {
		c.seen[dir], c.firstSeq[dir] = true, t.Seq
	}
	tsval, hasTS := t.TSval()
	if hasTS && !c.seenTS[dir] {
		c.seenTS[dir], c.firstTS[dir] = true, tsval
	}
	if pl := t.Payload; dir == 1 && c.clientKnown && !c.control && len(c.pkts[1]) < 16 &&
		len(pl) >= 4 && string(pl[:3]) == "220" && (pl[3] == ' ' || pl[3] == '-') {
		c.control = true
	}
	if len(c.pkts[dir]) >= MaxPacketsPerDir || fv.kept >= MaxPackets {
		fv.info.DroppedPackets++
		return
	}
	fv.kept++
	k := pkt{
		t: p.Timestamp.UnixNano(), frame: int32(p.Frame), text: -1,
		seq: t.Seq, ack: t.Ack, tsval: tsval, hasTS: hasTS,
		ipid: d.IPID, hasID: d.Src.Is4() && d.IPID != 0,
		plen: uint16(min(d.PayloadLen, 0xffff)), win: t.Window, flags: t.Flags,
	}
	if t.SYN {
		k.mss = uint16(t.MSS())
	}
	if v, ok := pcap.IPTTL(p.LinkType, p.Data, d.Src); ok {
		k.ttl = v
	}
	if len(t.Payload) > 0 {
		h := fnv.New64a()
		h.Write(t.Payload)
		k.hash = h.Sum64()
		if len(t.Payload) <= maxText && looksLikeText(t.Payload) {
			if fv.textBytes+len(t.Payload) <= maxTextBytes {
				fv.textBytes += len(t.Payload)
				k.text = int32(len(fv.texts))
				fv.texts = append(fv.texts, string(t.Payload))
			} else {
				fv.info.DroppedTexts++
			}
		}
	}
	c.pkts[dir] = append(c.pkts[dir], k)
}

// looksLikeText reports whether a payload is printable text, as FTP
// commands and replies are.
func looksLikeText(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for _, c := range b {
		if c < 0x20 && c != '\r' && c != '\n' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
