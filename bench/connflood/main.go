// Command connflood writes a capture of many short TCP connections, or of
// one SYN each (a SYN flood), to measure ftpdiag's memory with huge
// connection counts. Addresses come from documentation ranges.
//
//	go run ./bench/connflood -n 1000000 -o /tmp/synflood.pcap            # one SYN each
//	go run ./bench/connflood -n 100000 -payload 10000 -o /tmp/conns.pcap  # full connections
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"ftpdiag/internal/pktbuild"
)

func main() {
	n := flag.Int("n", 1000000, "connections")
	payload := flag.Int("payload", 0, "bytes each connection carries from the server (0: a lone SYN)")
	open := flag.Int("open", 200, "connections open at once (with -payload)")
	out := flag.String("o", "", "output file")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "connflood: -o FILE is required")
		os.Exit(2)
	}
	if err := write(*out, *n, *payload, *open); err != nil {
		fmt.Fprintln(os.Stderr, "connflood:", err)
		os.Exit(1)
	}
}

// endpoint numbers a client: 198.51.100.0/24 hosts times 64 Ki ports.
func endpoint(i int) (netip.Addr, uint16) {
	return netip.AddrFrom4([4]byte{198, 51, 100, byte(1 + i/60000%250)}), uint16(1024 + i%60000)
}

func write(path string, n, payload, open int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	w := pcapgo.NewWriter(bw)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		return err
	}
	t := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	frame := make([]byte, 0, 1600)
	eth := &pktbuild.Ethernet{Dst: [6]byte{0, 1, 2, 3, 4, 5}, Src: [6]byte{6, 7, 8, 9, 10, 11}}
	xs := bytes.Repeat([]byte{'x'}, 1400)
	// The frames are as the sending host would capture them: short ones
	// unpadded, checksums left to the NIC. ftpdiag never checks them.
	emit := func(src, dst netip.Addr, sp, dp uint16, seq, ack uint32, flags pktbuild.Flags, n int) error {
		frame = pktbuild.Frame{
			Ethernet:    eth,
			IP:          pktbuild.IP{Src: src, Dst: dst, TTL: 64, DontFragment: true},
			TCP:         pktbuild.TCP{SrcPort: sp, DstPort: dp, Seq: seq, Ack: ack, Flags: flags, Window: 0xffff},
			Payload:     xs[:n],
			Unpadded:    true,
			NoChecksums: true,
		}.AppendTo(frame[:0])
		t = t.Add(10 * time.Microsecond)
		return w.WritePacket(gopacket.CaptureInfo{Timestamp: t, CaptureLength: len(frame), Length: len(frame)}, frame)
	}
	server := netip.AddrFrom4([4]byte{203, 0, 113, 80})
	const syn, ack, fin, psh = pktbuild.SYN, pktbuild.ACK, pktbuild.FIN, pktbuild.PSH
	if payload == 0 {
		for i := range n {
			ip, port := endpoint(i)
			if err := emit(ip, server, port, 443, uint32(i), 0, syn, 0); err != nil {
				return err
			}
		}
		return bw.Flush()
	}
	// Full connections, open at a time, interleaved round-robin.
	type conn struct {
		ip   netip.Addr
		port uint16
		cseq uint32
		sseq uint32
		sent int
		step int
	}
	active := make([]*conn, 0, open)
	next := 0
	for next < n || len(active) > 0 {
		for len(active) < open && next < n {
			ip, port := endpoint(next)
			active = append(active, &conn{ip: ip, port: port, cseq: uint32(next) * 7, sseq: uint32(next) * 13})
			next++
		}
		for i := 0; i < len(active); {
			c := active[i]
			var err error
			switch c.step {
			case 0:
				err = emit(c.ip, server, c.port, 443, c.cseq, 0, syn, 0)
			case 1:
				err = emit(server, c.ip, 443, c.port, c.sseq, c.cseq+1, syn|ack, 0)
			case 2:
				err = emit(c.ip, server, c.port, 443, c.cseq+1, c.sseq+1, ack, 0)
			case 3:
				k := min(1400, payload-c.sent)
				err = emit(server, c.ip, 443, c.port, c.sseq+1+uint32(c.sent), c.cseq+1, ack|psh, k)
				c.sent += k
				if c.sent < payload {
					c.step--
				}
			case 4:
				err = emit(server, c.ip, 443, c.port, c.sseq+1+uint32(c.sent), c.cseq+1, fin|ack, 0)
			case 5:
				err = emit(c.ip, server, c.port, 443, c.cseq+1, c.sseq+2+uint32(c.sent), fin|ack, 0)
			}
			if err != nil {
				return err
			}
			c.step++
			if c.step > 5 {
				active[i] = active[len(active)-1]
				active = active[:len(active)-1]
				continue
			}
			i++
		}
	}
	return bw.Flush()
}
