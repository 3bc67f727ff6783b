package tlsdecrypt

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"hash"
	"testing"
)

// TestPRF12 checks the TLS 1.2 PRF against the P_SHA256 and P_SHA384
// vectors of testdata/tls12-prf.txt.
func TestPRF12(t *testing.T) {
	v := readVectors(t, "tls12-prf.txt")
	for _, tt := range []struct {
		name string
		h    func() hash.Hash
	}{
		{"sha256", sha256.New},
		{"sha384", sha512.New384},
	} {
		t.Run(tt.name, func(t *testing.T) {
			want := vector(t, v, tt.name+"_output")
			got := prf12(tt.h, vector(t, v, tt.name+"_secret"), "test label", vector(t, v, tt.name+"_seed"), len(want))
			if !bytes.Equal(got, want) {
				t.Errorf("prf12 = %x\nwant   %x", got, want)
			}
			// Any prefix is the same stream.
			if got := prf12(tt.h, vector(t, v, tt.name+"_secret"), "test label", vector(t, v, tt.name+"_seed"), 7); !bytes.Equal(got, want[:7]) {
				t.Errorf("prf12 cut to 7 = %x, want %x", got, want[:7])
			}
		})
	}
}

// TestKeyBlock12Layout checks the order in which the key block is cut
// (RFC 5246 section 6.3: client key, server key, client IV, server IV; no
// MAC keys for AEAD suites) against the PRF output itself.
func TestKeyBlock12Layout(t *testing.T) {
	var cr, sr [32]byte
	for i := range cr {
		cr[i], sr[i] = byte(i), byte(0x80+i)
	}
	master := bytes.Repeat([]byte{0x42}, 48)
	for _, id := range []uint16{0xc02f, 0xc030, 0xcca8} {
		s := suiteByID(id, false)
		kb := prf12(s.hash, master, "key expansion", append(sr[:], cr[:]...), 2*s.keyLen+2*s.ivLen)
		c, sv := keyBlock12(s, master, cr, sr)
		want := append(append(append(append([]byte{}, c.key...), sv.key...), c.iv...), sv.iv...)
		if !bytes.Equal(kb, want) || len(c.key) != s.keyLen || len(c.iv) != s.ivLen {
			t.Errorf("%s: key block cut wrong", SuiteName(id))
		}
	}
}
