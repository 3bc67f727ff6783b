package pcap

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/layers"
)

// captureFiles lists the project's fixture captures and, when present, the
// shared corpus's.
func captureFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("../fixtures/captures/*.pcap*")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixture captures: %v", err)
	}
	if _, err := os.Stat("/work/shared/corpus"); err == nil || os.Getenv("CI") == "true" {
		dir := corpusDir(t)
		filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.Contains(p, ".pcap") {
				files = append(files, p)
			}
			return nil
		})
	}
	return files
}

// sameDecoding decodes data with the fast path and with the parser only,
// and reports how the two summaries differ ("" when they do not).
func sameDecoding(fast, slow *Decoder, p *Packet) string {
	a := *fast.Decode(p)
	b := *slow.Decode(p)
	var ta, tb TCP
	if a.TCP != nil {
		ta = *a.TCP
	}
	if b.TCP != nil {
		tb = *b.TCP
	}
	a.TCP, b.TCP = nil, nil
	if !reflect.DeepEqual(a, b) {
		return fmt.Sprintf("summary %+v, parser %+v", a, b)
	}
	if !reflect.DeepEqual(ta, tb) {
		return fmt.Sprintf("TCP header %+v, parser %+v", ta, tb)
	}
	return ""
}

// TestFastPathMatchesParser decodes every packet of every fixture (and
// corpus) capture with the hand-written Ethernet/IP/TCP path and with
// gopacket's parser alone: the summaries must be equal.
func TestFastPathMatchesParser(t *testing.T) {
	fast, slow := NewDecoder(), NewDecoder()
	slow.parserOnly = true
	packets := 0
	for _, f := range captureFiles(t) {
		r, err := OpenSequential(f)
		if err != nil {
			continue // not a capture the reader takes: its own tests say so
		}
		for {
			p, err := r.Next()
			if err != nil {
				break
			}
			packets++
			if diff := sameDecoding(fast, slow, p); diff != "" {
				t.Errorf("%s frame %d: fast path and parser differ: %s", f, p.Frame, diff)
			}
		}
		r.Close()
	}
	t.Logf("%d packets compared", packets)
}

// FuzzFastPath compares the fast path with the parser on arbitrary
// Ethernet frames.
func FuzzFastPath(f *testing.F) {
	for _, v6 := range []bool{false, true} {
		ip := ipTCPFrame(v6)
		f.Add(ip)
		f.Add(ip[:len(ip)-3])
	}
	fast, slow := NewDecoder(), NewDecoder()
	slow.parserOnly = true
	f.Fuzz(func(t *testing.T, data []byte) {
		p := &Packet{Data: data, LinkType: layers.LinkTypeEthernet}
		if diff := sameDecoding(fast, slow, p); diff != "" {
			t.Errorf("fast path and parser differ: %s", diff)
		}
	})
}

// ipTCPFrame returns an Ethernet frame carrying a TCP segment with options
// and a payload.
func ipTCPFrame(v6 bool) []byte {
	tcp := []byte{
		0x04, 0x00, 0x00, 0x15, 0, 0, 0, 1, 0, 0, 0, 2, 0x60, 0x18, 0xff, 0xff, 0, 0, 0, 0,
		2, 4, 5, 0xb4, // MSS
		'2', '2', '0', ' ', 'h', 'i', '\r', '\n',
	}
	if v6 {
		ip := make([]byte, 40)
		ip[0] = 0x60
		ip[4], ip[5] = 0, byte(len(tcp))
		ip[6], ip[7] = 6, 64
		ip[23], ip[39] = 1, 2
		return append(append(ether(0x86dd), ip...), tcp...)
	}
	ip := []byte{0x45, 0, 0, byte(20 + len(tcp)), 0x12, 0x34, 0x40, 0, 64, 6, 0, 0, 192, 0, 2, 1, 198, 51, 100, 2}
	return append(append(ether(0x0800), ip...), tcp...)
}
