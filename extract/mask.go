package extract

import (
	"bytes"
	"encoding/binary"
	"net/netip"

	"ftpdiag/ftpflow"
	"ftpdiag/pcap"
)

// passMasker hides PASS arguments in the client-to-server bytes of control
// connections, as the reports do, keeping every length: each byte of an
// argument becomes '*', and the TCP checksum is adjusted for the change,
// so the packet stays as valid (or as invalid, under checksum offload) as
// it was captured.
type passMasker struct {
	// inPass holds the control connections whose last segment from the
	// client ended inside a PASS line, so the next one starts with more of
	// the argument.
	inPass map[controlFlow]bool
	// next holds, per control connection, the sequence number after the
	// client's bytes seen so far: a segment beyond it follows a hole.
	next map[controlFlow]uint32
}

// controlFlow names the client-to-server direction of a control
// connection.
type controlFlow struct{ client, server netip.AddrPort }

// mask rewrites, in place, the PASS arguments of a client-to-server
// control segment. data is the whole frame; payload must lie within it.
func (pm *passMasker) mask(data []byte, d *pcap.Decoded, flow controlFlow) {
	payload := d.TCP.Payload
	off := cap(data) - cap(payload)
	if len(payload) == 0 || off < d.TCP.HeaderLen() || off+len(payload) > len(data) {
		return // not a slice of this frame: leave it alone
	}
	old := bytes.Clone(payload)
	continued := pm.inPass[flow]
	if pm.afterHole(d.TCP, flow) && mayBeRest(payload) {
		continued = true // may be the rest of a PASS line whose start is missing
	}
	if maskPass(payload, continued) {
		pm.inPass[flow] = true
	} else {
		delete(pm.inPass, flow)
	}
	if bytes.Equal(old, payload) {
		return
	}
	tcpStart := off - d.TCP.HeaderLen()
	sum := data[tcpStart+16 : tcpStart+18]
	binary.BigEndian.PutUint16(sum, adjustChecksum(binary.BigEndian.Uint16(sum), old, payload, d.TCP.HeaderLen()%2 == 1))
}

// afterHole reports whether client bytes before segment t are missing
// from the capture (or the capture began after the connection did), and
// notes where its bytes end.
func (pm *passMasker) afterHole(t *pcap.TCP, flow controlFlow) bool {
	if pm.next == nil {
		pm.next = map[controlFlow]uint32{}
	}
	next, seen := pm.next[flow]
	end := t.Seq + uint32(len(t.Payload))
	if t.SYN {
		end++
	}
	if !seen || int32(end-next) > 0 {
		pm.next[flow] = end
	}
	return !t.SYN && (!seen || int32(t.Seq-next) > 0)
}

// mayBeRest reports whether the first line of p may be the rest of a
// line whose start is missing: it is not a command FTP clients send.
func mayBeRest(p []byte) bool {
	line, _, _ := bytes.Cut(p, []byte("\n"))
	cmd, err := ftpflow.ParseCommand(string(line))
	return err != nil || !ftpflow.IsKnownCommand(cmd.Verb)
}

// maskPass replaces the argument of every "PASS " line of p with '*', and
// the start of p up to the line's end when continued says a PASS line
// began in an earlier segment. It reports whether p ends inside a PASS
// line.
func maskPass(p []byte, continued bool) bool {
	i := 0
	if continued {
		i = starUntilEOL(p, 0)
		if i == len(p) {
			return true
		}
	}
	for i < len(p) {
		end := bytes.IndexByte(p[i:], '\n')
		line := p[i:]
		if end >= 0 {
			line = p[i : i+end+1]
		}
		if len(line) >= 5 && bytes.EqualFold(line[:5], []byte("PASS ")) {
			if starUntilEOL(p, i+5) == len(p) {
				return true
			}
		}
		i += len(line)
	}
	return false
}

// starUntilEOL overwrites p from i up to the next CR or LF with '*' and
// returns where it stopped.
func starUntilEOL(p []byte, i int) int {
	for ; i < len(p) && p[i] != '\r' && p[i] != '\n'; i++ {
		p[i] = '*'
	}
	return i
}

// adjustChecksum updates an Internet checksum for bytes changed from old
// to new (RFC 1624: HC' = ~(~HC + ~m + m')). odd says the changed bytes
// begin at an odd offset from the start of the checksummed data.
func adjustChecksum(csum uint16, old, new []byte, odd bool) uint16 {
	sum := uint32(^csum)
	sum += uint32(^fold(onesSum(old, odd)) & 0xffff)
	sum += onesSum(new, odd)
	return ^fold(sum)
}

// onesSum adds b as big-endian 16-bit words, b starting at an odd offset
// of the checksummed data when odd is set.
func onesSum(b []byte, odd bool) uint32 {
	var sum uint32
	for i, c := range b {
		if (i%2 == 0) != odd {
			sum += uint32(c) << 8
		} else {
			sum += uint32(c)
		}
	}
	return sum
}

// fold reduces a 32-bit sum to 16 bits in ones' complement.
func fold(sum uint32) uint16 {
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return uint16(sum)
}
