package pktbuild

// Options is a list of TCP options in wire format, built by appending one
// option after another:
//
//	pktbuild.Options{}.MSS(1460).SACKPermitted().NOP().WindowScale(7)
type Options []byte

// NOP appends a no-operation option, one byte that aligns the next.
func (o Options) NOP() Options { return append(o, 1) }

// MSS appends a maximum segment size option.
func (o Options) MSS(size uint16) Options { return append(o, 2, 4, byte(size>>8), byte(size)) }

// WindowScale appends a window scale option (RFC 7323).
func (o Options) WindowScale(shift uint8) Options { return append(o, 3, 3, shift) }

// SACKPermitted appends a SACK-permitted option (RFC 2018).
func (o Options) SACKPermitted() Options { return append(o, 4, 2) }

// Timestamps appends a timestamps option (RFC 7323): the sender's clock
// and the last value it received from its peer.
func (o Options) Timestamps(val, echo uint32) Options {
	o = append(o, 8, 10)
	o = be.AppendUint32(o, val)
	return be.AppendUint32(o, echo)
}
