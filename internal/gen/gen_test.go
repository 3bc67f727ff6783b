package gen

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// generate writes cfg to memory or fails the test.
func generate(t testing.TB, cfg Config) ([]byte, Stats) {
	t.Helper()
	var buf bytes.Buffer
	st, err := Write(&buf, cfg)
	if err != nil {
		t.Fatalf("Write(%+v): %v", cfg, err)
	}
	return buf.Bytes(), st
}

func digest(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:8])
}

func TestWriteDeterministic(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"pcap", Config{Seed: 1, Size: 2 << 20, Format: FormatPcap}},
		{"pcapng", Config{Seed: 1, Size: 2 << 20, Format: FormatPcapNG}},
		{"pcap/gzip", Config{Seed: 7, Size: 1 << 20, Format: FormatPcap, Gzip: true}},
		{"pcapng/concurrency-20", Config{Seed: 3, Size: 1 << 20, Format: FormatPcapNG, Concurrency: 20}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, sa := generate(t, tt.cfg)
			b, sb := generate(t, tt.cfg)
			if !bytes.Equal(a, b) {
				t.Fatalf("two runs differ: %s vs %s", digest(a), digest(b))
			}
			if sa != sb {
				t.Errorf("two runs' stats differ:\n%+v\n%+v", sa, sb)
			}
			other := tt.cfg
			other.Seed++
			c, _ := generate(t, other)
			if bytes.Equal(a, c) {
				t.Errorf("seeds %d and %d give the same bytes", tt.cfg.Seed, other.Seed)
			}
		})
	}
}

func TestWriteSize(t *testing.T) {
	for _, f := range []Format{FormatPcap, FormatPcapNG} {
		for _, size := range []int64{MinSize, 64 << 10, 1 << 20, 5e6, 16 << 20} {
			t.Run(fmt.Sprintf("%s/%d", f, size), func(t *testing.T) {
				b, st := generate(t, Config{Seed: 42, Size: size, Format: f})
				if int64(len(b)) != st.Bytes {
					t.Errorf("wrote %d bytes, Stats.Bytes = %d", len(b), st.Bytes)
				}
				if st.Bytes > size {
					t.Errorf("wrote %d bytes, more than the %d asked", st.Bytes, size)
				}
				// Within 3%, or 600 bytes for the tiniest files.
				if short := size - st.Bytes; short > max(size*3/100, 600) {
					t.Errorf("wrote %d bytes, %d short of %d", st.Bytes, short, size)
				}
			})
		}
	}
}

func TestWriteGzip(t *testing.T) {
	cfg := Config{Seed: 5, Size: 1 << 20}
	plain, _ := generate(t, cfg)
	cfg.Gzip = true
	gz, st := generate(t, cfg)
	if st.Compressed != int64(len(gz)) {
		t.Errorf("Stats.Compressed = %d, wrote %d", st.Compressed, len(gz))
	}
	r, err := gzipReader(gz)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, plain) {
		t.Errorf("gunzipped output (%d bytes) differs from the plain output (%d bytes)", len(got), len(plain))
	}
}

func TestWriteRejects(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"size too small", Config{Size: 100}},
		{"unknown format", Config{Size: 1 << 20, Format: 9}},
		{"negative concurrency", Config{Size: 1 << 20, Concurrency: -1}},
		{"huge concurrency", Config{Size: 1 << 20, Concurrency: MaxConcurrency + 1}},
		{"FTP share above half", Config{Size: 1 << 20, FTPShare: 0.9}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Write(io.Discard, tt.cfg); err == nil {
				t.Errorf("Write(%+v) = nil error, want one", tt.cfg)
			}
		})
	}
}

// errWriter fails after n bytes.
type errWriter struct{ n int }

var errFull = errors.New("disk full")

func (w *errWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		k := w.n
		w.n = 0
		return k, errFull
	}
	w.n -= len(p)
	return len(p), nil
}

func TestWriteError(t *testing.T) {
	_, err := Write(&errWriter{n: 3 << 20}, Config{Seed: 1, Size: 8 << 20})
	if !errors.Is(err, errFull) {
		t.Errorf("Write to a full disk = %v, want %v", err, errFull)
	}
}

// packetSource is met by both pcapgo readers.
type packetSource interface {
	ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
}

// flowKey names one direction of a TCP connection.
type flowKey struct {
	src, dst gopacket.Endpoint
	sp, dp   layers.TCPPort
}

// TestWriteDecodes reads generated files back with gopacket and checks
// every frame: it decodes without error, lengths and checksums are right,
// times increase, and each TCP direction's sequence numbers run on without
// gaps.
func TestWriteDecodes(t *testing.T) {
	for _, f := range []Format{FormatPcap, FormatPcapNG} {
		t.Run(f.String(), func(t *testing.T) {
			b, st := generate(t, Config{Seed: 9, Size: 6 << 20, Format: f})
			var src packetSource
			var err error
			if f == FormatPcap {
				src, err = pcapgo.NewReader(bytes.NewReader(b))
			} else {
				src, err = pcapgo.NewNgReader(bytes.NewReader(b), pcapgo.DefaultNgReaderOptions)
			}
			if err != nil {
				t.Fatal(err)
			}
			var (
				n       int64
				last    time.Time
				classes = map[string]int{}
				next    = map[flowKey]uint32{}
				errs    int
			)
			fail := func(format string, args ...any) {
				if errs++; errs <= 10 {
					t.Errorf(format, args...)
				}
			}
			for {
				data, ci, err := src.ReadPacketData()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("packet %d: %v", n+1, err)
				}
				n++
				if !ci.Timestamp.After(last) {
					fail("packet %d: time %v not after %v", n, ci.Timestamp, last)
				}
				last = ci.Timestamp
				if ci.CaptureLength != len(data) || ci.Length != len(data) || len(data) < minFrame || len(data) > maxFrame {
					fail("packet %d: lengths %d/%d/%d", n, ci.CaptureLength, ci.Length, len(data))
				}
				p := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.Default)
				if el := p.ErrorLayer(); el != nil {
					fail("packet %d: %v", n, el.Error())
					continue
				}
				checkPacket(p, n, next, classes, fail)
			}
			if n != st.Packets {
				t.Errorf("read %d packets, Stats.Packets = %d", n, st.Packets)
			}
			for _, k := range []string{"tcp4", "tcp6", "udp4", "udp6", "icmp4", "icmp6", "arp"} {
				if classes[k] == 0 {
					t.Errorf("no %s packet in %d: %v", k, n, classes)
				}
			}
		})
	}
}

// checkPacket checks one decoded packet's lengths, checksums and TCP
// sequence continuity.
func checkPacket(p gopacket.Packet, n int64, next map[flowKey]uint32, classes map[string]int, fail func(string, ...any)) {
	var fam string
	var nl gopacket.NetworkLayer
	switch ip := p.NetworkLayer().(type) {
	case *layers.IPv4:
		fam, nl = "4", ip
		if _, r := ip.VerifyChecksum(); !r.Valid {
			fail("packet %d: bad IPv4 checksum %#x, want %#x", n, r.Actual, r.Correct)
		}
		if int(ip.Length) != len(ip.Contents)+len(ip.Payload) {
			fail("packet %d: IPv4 length %d, carries %d", n, ip.Length, len(ip.Contents)+len(ip.Payload))
		}
	case *layers.IPv6:
		fam, nl = "6", ip
		if int(ip.Length) != len(ip.Payload) {
			fail("packet %d: IPv6 payload length %d, carries %d", n, ip.Length, len(ip.Payload))
		}
	default:
		if p.Layer(layers.LayerTypeARP) != nil {
			classes["arp"]++
			return
		}
		fail("packet %d: neither IP nor ARP: %v", n, p)
		return
	}
	switch l := p.TransportLayer().(type) {
	case *layers.TCP:
		classes["tcp"+fam]++
		if err := l.SetNetworkLayerForChecksum(nl); err != nil {
			fail("packet %d: %v", n, err)
		}
		if err, r := l.VerifyChecksum(); err != nil || !r.Valid {
			fail("packet %d: bad TCP checksum %#x, want %#x (%v)", n, r.Actual, r.Correct, err)
		}
		k := flowKey{nl.NetworkFlow().Src(), nl.NetworkFlow().Dst(), l.SrcPort, l.DstPort}
		switch want, seen := next[k]; {
		case l.SYN:
			next[k] = l.Seq + 1
		case l.RST && !l.ACK || l.RST && l.Seq == 0:
		case !seen:
			fail("packet %d: %v seq %d with no SYN", n, k, l.Seq)
		case len(l.Payload) > 0 || l.FIN:
			if l.Seq != want {
				fail("packet %d: %v seq %d, want %d", n, k, l.Seq, want)
			}
			next[k] = l.Seq + uint32(len(l.Payload))
			if l.FIN {
				next[k]++
			}
		}
	case *layers.UDP:
		classes["udp"+fam]++
		if err := l.SetNetworkLayerForChecksum(nl); err != nil {
			fail("packet %d: %v", n, err)
		}
		if err, r := l.VerifyChecksum(); err != nil || !r.Valid {
			fail("packet %d: bad UDP checksum %#x, want %#x (%v)", n, r.Actual, r.Correct, err)
		}
	default:
		if ic := p.Layer(layers.LayerTypeICMPv4); ic != nil {
			classes["icmp4"]++
			if err, r := ic.(*layers.ICMPv4).VerifyChecksum(); err != nil || !r.Valid {
				fail("packet %d: bad ICMP checksum", n)
			}
			return
		}
		if ic := p.Layer(layers.LayerTypeICMPv6); ic != nil {
			classes["icmp6"]++
			ic6 := ic.(*layers.ICMPv6)
			if err := ic6.SetNetworkLayerForChecksum(nl); err != nil {
				fail("packet %d: %v", n, err)
			}
			if err, r := ic6.VerifyChecksum(); err != nil || !r.Valid {
				fail("packet %d: bad ICMPv6 checksum", n)
			}
			return
		}
		fail("packet %d: no transport: %v", n, p)
	}
}

// TestWriteCoverage checks that a modest capture plans every FTP mode,
// fault and outcome, and keeps the traffic mix near its shares.
func TestWriteCoverage(t *testing.T) {
	st, err := Write(io.Discard, Config{Seed: 1, Size: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	for m := range Mode(NumModes) {
		if st.Modes[m] == 0 {
			t.Errorf("no %s transfer", m)
		}
	}
	for f := range Fault(NumFaults) {
		if st.Faults[f] == 0 {
			t.Errorf("no %s transfer", f)
		}
	}
	for o := range Outcome(NumOutcomes) {
		if st.Transfers[o] == 0 {
			t.Errorf("no %s transfer", o)
		}
	}
	share := func(c ...Class) float64 {
		var n int64
		for _, c := range c {
			n += st.ByClass[c]
		}
		return float64(n) / float64(st.Packets)
	}
	checks := []struct {
		name   string
		got    float64
		lo, hi float64
	}{
		{"https", share(ClassHTTPS), 0.78, 0.90},
		{"dns", share(ClassDNS), 0.03, 0.07},
		{"icmp", share(ClassICMP), 0.005, 0.03},
		{"arp", share(ClassARP), 0.001, 0.01},
		{"ftp", share(ClassFTPControl, ClassFTPData), 0.05, 0.10},
		{"ipv6", float64(st.IPv6Packets) / float64(st.Packets), 0.05, 0.30},
	}
	for _, c := range checks {
		if c.got < c.lo || c.got > c.hi {
			t.Errorf("%s share %.3f, want %.3f to %.3f", c.name, c.got, c.lo, c.hi)
		}
	}
	if st.MaxOpen < 50 {
		t.Errorf("at most %d flows open at once, want at least 50", st.MaxOpen)
	}
}

// sampler is a writer that records the largest heap in use, sampled every
// few MiB written.
type sampler struct {
	n, every int
	peak     uint64
}

func (s *sampler) Write(p []byte) (int, error) {
	s.n += len(p)
	if s.n >= s.every {
		s.n = 0
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		s.peak = max(s.peak, m.HeapInuse)
	}
	return len(p), nil
}

// TestWriteMemoryFlat checks that memory does not follow the capture's
// size: a 96 MiB capture keeps the heap as small as a 8 MiB one does.
func TestWriteMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("generates 100 MiB")
	}
	peak := func(size int64) uint64 {
		runtime.GC()
		s := &sampler{every: 1 << 20}
		if _, err := Write(s, Config{Seed: 1, Size: size}); err != nil {
			t.Fatal(err)
		}
		return s.peak
	}
	small, big := peak(8<<20), peak(96<<20)
	t.Logf("peak heap in use: %.1f MiB for 8 MiB, %.1f MiB for 96 MiB", float64(small)/(1<<20), float64(big)/(1<<20))
	const limit = 24 << 20
	if big > limit {
		t.Errorf("peak heap %d bytes for 96 MiB, want under %d", big, limit)
	}
	if big > small*2+(4<<20) {
		t.Errorf("peak heap grew from %d to %d bytes with the capture size", small, big)
	}
}

func TestStatsJSON(t *testing.T) {
	var s Stats
	s.Transfers[OutcomeSYNRefused] = 3
	s.ByClass[ClassFTPData] = 7
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"syn_refused":3`, `"ftp_data":7`, `"tuple_reuse":0`, `"eprt":0`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON %s lacks %s", b, want)
		}
	}
}
