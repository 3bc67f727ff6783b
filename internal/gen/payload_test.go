package gen

import (
	"bytes"
	"compress/gzip"
	"io"
	"testing"
)

func gzipReader(b []byte) (io.Reader, error) { return gzip.NewReader(bytes.NewReader(b)) }

func TestHelloLengths(t *testing.T) {
	var r [96]byte
	for _, sni := range []string{"", "a.example", "telemetry39.example.org"} {
		if got, want := len(appendClientHello(nil, sni, r[:])), clientHelloLen(len(sni)); got != want {
			t.Errorf("ClientHello for %q: %d bytes, clientHelloLen says %d", sni, got, want)
		}
	}
	if got := len(appendServerHello(nil, r[:])); got != serverHelloLen {
		t.Errorf("ServerHello: %d bytes, serverHelloLen is %d", got, serverHelloLen)
	}
}

func TestDNSLengths(t *testing.T) {
	for _, m := range []dnsMsg{
		{qtype: dnsA, answers: 3},
		{qtype: dnsAAAA, answers: 2},
		{qtype: dnsA, rcode: 3},
	} {
		for _, resp := range []bool{false, true} {
			if got, want := len(appendDNS(nil, "cdn7.example.net", &m, resp)), dnsLen("cdn7.example.net", &m, resp); got != want {
				t.Errorf("appendDNS(%+v, response %v): %d bytes, dnsLen says %d", m, resp, got, want)
			}
		}
	}
}

// TestTLSFill checks that a flight cut into arbitrary pieces comes out as
// well-formed records that end exactly with the flight.
func TestTLSFill(t *testing.T) {
	g := newGenerator(Config{Seed: 1, Size: MinSize})
	for _, flight := range []int{tlsMinFlight, 1000, tlsMaxRecord + 5, tlsMaxRecord + 5 + 10, 3*tlsMaxRecord + 4000} {
		var s tlsState
		var out []byte
		for i, step := 0, 1; i < flight; i, step = i+step, step*3%1447+1 {
			p := make([]byte, min(step, flight-i))
			start := uint32(0)
			if i == 0 {
				start = uint32(flight)
			}
			g.tlsFill(p, &s, start, uint64(i))
			out = append(out, p...)
		}
		for len(out) > 0 {
			if len(out) < 5 || out[0] != 0x17 || out[1] != 3 || out[2] != 3 {
				t.Fatalf("flight %d: bad record header % x", flight, out[:min(5, len(out))])
			}
			n := int(out[3])<<8 | int(out[4])
			if n < tlsMinRecord || n > tlsMaxRecord || 5+n > len(out) {
				t.Fatalf("flight %d: record body %d with %d bytes left", flight, n, len(out)-5)
			}
			out = out[5+n:]
		}
	}
}
