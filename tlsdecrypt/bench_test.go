package tlsdecrypt

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
)

// BenchmarkConn decrypts a TLS 1.3 server stream of full records, fed in
// segments of an Ethernet MSS; MB/s counts plaintext.
func BenchmarkConn(b *testing.B) {
	for _, id := range []uint16{0x1301, 0x1303, 0xc030} {
		b.Run(SuiteName(id), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(7, 7))
			var ss session
			var sv *peer
			chunk := bytes.Repeat([]byte("226 Transfer complete.\r\n"), 683)[:1<<14]
			const n = 64
			if id == 0xc030 {
				ss = tls12Session(id, rng)
				s := suiteByID(id, false)
				var cr, sr [32]byte
				kl, _ := ParseKeyLog(strings.NewReader(ss.keylog))
				for k := range kl.m {
					cr = k
				}
				sr = [32]byte(records(ss.server)[0][11:43])
				_, sk := keyBlock12(s, kl.m[cr].master, cr, sr)
				sv = &peer{s: s, k: sk, seq: 3}
			} else {
				ss = tls13Session(id, rng, tls13Options{})
				kl, _ := ParseKeyLog(strings.NewReader(ss.keylog))
				for _, sec := range kl.m {
					sv = &peer{s: suiteByID(id, true), secret: sec.serverAP, seq: 3}
				}
				ss.server = ss.server[:len(ss.server)-len(records(ss.server)[len(records(ss.server))-1])] // drop close_notify
			}
			for range n {
				ss.server = append(ss.server, sv.seal(recApplicationData, chunk)...)
			}
			kl, _ := ParseKeyLog(strings.NewReader(ss.keylog))
			b.SetBytes(n << 14)
			b.ReportAllocs()
			for b.Loop() {
				c := NewConn(kl)
				c.Feed(ClientToServer, ss.client)
				for p := ss.server; len(p) > 0; {
					m := min(1460, len(p))
					if err := c.Feed(ServerToClient, p[:m]); err != nil {
						b.Fatal(err)
					}
					c.Take(ServerToClient)
					p = p[m:]
				}
			}
		})
	}
}
