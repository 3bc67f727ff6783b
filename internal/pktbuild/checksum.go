package pktbuild

import "math/bits"

// Checksum returns the Internet checksum of b (RFC 1071): the ones'
// complement of the ones' complement sum of its 16-bit words, an odd last
// byte padded with zero. An IPv4 header or an ICMP message holds it in
// its checksum field, computed while that field is zero.
func Checksum(b []byte) uint16 { return fold(sum(0, b)) }

// sum adds b to a ones' complement running sum, eight bytes at a time.
// Every b but the last added must have an even length.
func sum(acc uint64, b []byte) uint64 {
	var c uint64
	for len(b) >= 32 {
		acc, c = bits.Add64(acc, be.Uint64(b), c)
		acc, c = bits.Add64(acc, be.Uint64(b[8:]), c)
		acc, c = bits.Add64(acc, be.Uint64(b[16:]), c)
		acc, c = bits.Add64(acc, be.Uint64(b[24:]), c)
		b = b[32:]
	}
	for len(b) >= 8 {
		acc, c = bits.Add64(acc, be.Uint64(b), c)
		b = b[8:]
	}
	if len(b) > 0 {
		var tail [8]byte
		copy(tail[:], b)
		acc, c = bits.Add64(acc, be.Uint64(tail[:]), c)
	}
	acc, c = bits.Add64(acc, c, 0)
	return acc + c
}

// fold finishes a running sum into a checksum field's value.
func fold(acc uint64) uint16 {
	s := (acc >> 32) + (acc & 0xffffffff)
	s = (s >> 32) + (s & 0xffffffff)
	s = (s >> 16) + (s & 0xffff)
	s = (s >> 16) + (s & 0xffff)
	s = (s >> 16) + (s & 0xffff)
	return ^uint16(s)
}
