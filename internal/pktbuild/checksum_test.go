package pktbuild

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

func TestChecksum(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want uint16
	}{
		// RFC 1071's example: 0001 f203 f4f5 f6f7 sums to ddf2.
		{"rfc1071", []byte{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}, ^uint16(0xddf2)},
		{"empty", nil, 0xffff},
		{"odd length", []byte{0x01}, ^uint16(0x0100)},
		{"carry", bytes.Repeat([]byte{0xff}, 40), 0},
		{"one word of ones", []byte{0xff, 0xff}, 0},
		// The IPv4 header of Wikipedia's worked example ("IPv4 header
		// checksum"): 4500 0073 0000 4000 4011 [b861] c0a8 0001 c0a8 00c7.
		{"ipv4 header", []byte{0x45, 0, 0, 0x73, 0, 0, 0x40, 0, 0x40, 0x11, 0, 0, 0xc0, 0xa8, 0, 1, 0xc0, 0xa8, 0, 0xc7}, 0xb861},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Checksum(tt.in); got != tt.want {
				t.Errorf("Checksum(% x) = %#04x, want %#04x", tt.in, got, tt.want)
			}
		})
	}
}

// TestChecksumWordByWord compares the eight-bytes-at-a-time sum with the
// plain 16-bit loop of RFC 1071 at every length the unrolled loops split
// differently.
func TestChecksumWordByWord(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := range 200 {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		for _, in := range [][]byte{b, bytes.Repeat([]byte{0xff}, n)} {
			if got, want := Checksum(in), naive(in); got != want {
				t.Errorf("Checksum(% x) = %#04x, want %#04x", in, got, want)
			}
		}
	}
}

func naive(b []byte) uint16 {
	var s uint32
	for i := 0; i < len(b); i += 2 {
		w := uint32(b[i]) << 8
		if i+1 < len(b) {
			w |= uint32(b[i+1])
		}
		s += w
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}
