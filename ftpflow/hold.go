package ftpflow

import (
	"bytes"
	"slices"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/reassembly"
)

// Bounds on the out-of-order control bytes held before the reassembler.
// gopacket's reassembler counts what it buffers in pages, one per
// segment however small, and gives up on a hole after assemblerConnCap of
// them: a reply sent as 65 one-byte segments out of order became a gap.
// A receiving TCP holds out-of-order bytes up to its window, charging
// each segment its memory (Linux: the skb's truesize), and so do these
// bounds.
const (
	maxHeldBytes      = 64 << 10 // per direction of a control connection: an unscaled receive window
	maxHeldBytesTotal = 8 << 20  // for all control connections of the tracker
	heldOverhead      = 256      // bytes charged per held segment beside its payload
)

// heldSegment is a control segment that arrived ahead of a hole, kept
// until the hole fills.
type heldSegment struct {
	netFlow gopacket.Flow
	tcp     layers.TCP // its payload a copy, options dropped
	ctx     *assembleContext
}

// cost is what a held segment is charged against the bounds.
func (h *heldSegment) cost() int { return len(h.tcp.Payload) + heldOverhead }

// reorderBuffer puts one direction of a control connection back in
// sequence order before the reassembler sees it: a segment beyond the
// next expected byte is held, within maxHeldBytes, and handed on once the
// bytes before it came, so the reassembler only sees holes that last.
type reorderBuffer struct {
	known bool   // next is set: the direction's first segment was seen
	next  uint32 // the sequence number after the bytes handed on in order
	held  []*heldSegment
	bytes int // cost of held
}

// hold hands a control segment to the reassembler, or holds it while
// bytes before it are missing. tcp is the tracker's decoded segment.
func (t *Tracker) hold(st *sessionState, side Side, netFlow gopacket.Flow, tcp *layers.TCP, ctx *assembleContext) {
	rb := &st.reorder[side]
	t.releaseAcked(st, side.Other(), tcp, ctx.ci.Timestamp)
	if tcp.SYN || !rb.known {
		rb.known, rb.next = true, tcp.Seq
		if tcp.SYN {
			rb.next++
		}
	}
	ahead := int32(tcp.Seq-rb.next) > 0
	if ahead && len(tcp.Payload) > 0 && !tcp.FIN && !tcp.RST && t.roomToHold(rb, len(tcp.Payload)) {
		h := &heldSegment{netFlow: netFlow, tcp: *tcp, ctx: ctx}
		h.tcp.Payload = bytes.Clone(tcp.Payload)
		h.tcp.Contents, h.tcp.Options, h.tcp.Padding = nil, nil, nil
		i, _ := slices.BinarySearchFunc(rb.held, h.tcp.Seq, func(x *heldSegment, seq uint32) int { return int(int32(x.tcp.Seq - seq)) })
		rb.held = slices.Insert(rb.held, i, h)
		rb.bytes += h.cost()
		t.bounds.heldBytes += h.cost()
		return
	}
	t.assembler.AssembleWithContext(netFlow, tcp, ctx)
	if !ahead {
		rb.advance(tcp.Seq, len(tcp.Payload))
		t.handOn(rb, false)
	}
}

// roomToHold reports whether n more payload bytes fit the bounds.
func (t *Tracker) roomToHold(rb *reorderBuffer, n int) bool {
	c := n + heldOverhead
	return rb.bytes+c <= maxHeldBytes && t.bounds.heldBytes+c <= maxHeldBytesTotal
}

// advance notes n bytes at seq handed on in order.
func (rb *reorderBuffer) advance(seq uint32, n int) {
	if end := seq + uint32(n); int32(end-rb.next) > 0 {
		rb.next = end
	}
}

// handOn gives the reassembler the held segments that the bytes handed
// on reached, in sequence order; all of them when all is set (the hole
// before them will not fill: the reassembler then skips it).
func (t *Tracker) handOn(rb *reorderBuffer, all bool) {
	n := 0
	for _, h := range rb.held {
		if !all && int32(h.tcp.Seq-rb.next) > 0 {
			break
		}
		t.assembler.AssembleWithContext(h.netFlow, &h.tcp, h.ctx)
		rb.advance(h.tcp.Seq, len(h.tcp.Payload))
		rb.bytes -= h.cost()
		t.bounds.heldBytes -= h.cost()
		n++
	}
	clear(rb.held[:n])
	rb.held = rb.held[n:]
	if len(rb.held) == 0 {
		rb.held = nil
	}
}

// releaseAcked hands on the held segments of direction side when the
// peer's ACK in tcp passed the hole before them: the missing bytes
// arrived and the capture lost them, so the reassembler skips the hole at
// once (as the tracker does for a hole acknowledged at its own level).
func (t *Tracker) releaseAcked(st *sessionState, side Side, tcp *layers.TCP, now time.Time) {
	rb := &st.reorder[side]
	if len(rb.held) == 0 || !tcp.ACK || int32(tcp.Ack-rb.next) <= 0 {
		return
	}
	t.handOn(rb, true)
	t.assembler.FlushWithOptions(reassembly.FlushOptions{T: now.Add(time.Nanosecond)})
}

// releaseHeld hands on the segments held since before (every one when
// before is zero): the hole before them lasted as long as the
// reassembler waits on one, or the capture ended. The reassembler's next
// flush skips the hole.
func (t *Tracker) releaseHeld(before time.Time) {
	for _, st := range t.sessions {
		for side := range st.reorder {
			rb := &st.reorder[side]
			if len(rb.held) > 0 && (before.IsZero() || rb.held[0].ctx.ci.Timestamp.Before(before)) {
				t.handOn(rb, true)
			}
		}
	}
}

// forgetHeld drops what a session that the tracker lets go of still
// holds, from the bounds too.
func (t *Tracker) forgetHeld(st *sessionState) {
	for side := range st.reorder {
		rb := &st.reorder[side]
		t.bounds.heldBytes -= rb.bytes
		*rb = reorderBuffer{}
	}
}
