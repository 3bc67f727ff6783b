// Command connflood writes a capture of many short TCP connections, or of
// one SYN each (a SYN flood), to measure ftpdiag's memory with huge
// connection counts. Addresses come from documentation ranges.
//
//	go run ./bench/connflood -n 1000000 -o /tmp/synflood.pcap            # one SYN each
//	go run ./bench/connflood -n 100000 -payload 10000 -o /tmp/conns.pcap  # full connections
package main

import (
	"bufio"
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
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
func endpoint(i int) ([4]byte, uint16) {
	return [4]byte{198, 51, 100, byte(1 + i/60000%250)}, uint16(1024 + i%60000)
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
	emit := func(src, dst [4]byte, sp, dp uint16, seq, ack uint32, flags byte, n int) error {
		frame = frame[:0]
		frame = append(frame, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00)
		tot := 20 + 20 + n
		frame = append(frame, 0x45, 0, byte(tot>>8), byte(tot), 0, 0, 0x40, 0, 64, 6, 0, 0)
		frame = append(frame, src[:]...)
		frame = append(frame, dst[:]...)
		frame = binary.BigEndian.AppendUint16(frame, sp)
		frame = binary.BigEndian.AppendUint16(frame, dp)
		frame = binary.BigEndian.AppendUint32(frame, seq)
		frame = binary.BigEndian.AppendUint32(frame, ack)
		frame = append(frame, 5<<4, flags, 0xff, 0xff, 0, 0, 0, 0)
		for range n {
			frame = append(frame, 'x')
		}
		t = t.Add(10 * time.Microsecond)
		return w.WritePacket(gopacket.CaptureInfo{Timestamp: t, CaptureLength: len(frame), Length: len(frame)}, frame)
	}
	server := [4]byte{203, 0, 113, 80}
	const syn, ack, fin, psh = 0x02, 0x10, 0x01, 0x08
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
		ip   [4]byte
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
