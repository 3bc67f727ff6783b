package pktbuild_test

import (
	"fmt"
	"net/netip"

	"ftpdiag/internal/pktbuild"
)

func ExampleFrame_AppendTo() {
	syn := pktbuild.Frame{
		IP: pktbuild.IP{
			Src: netip.MustParseAddr("198.51.100.10"), Dst: netip.MustParseAddr("203.0.113.5"),
			TTL: 64, DontFragment: true,
		},
		TCP: pktbuild.TCP{
			SrcPort: 40000, DstPort: 21, Seq: 1000, Flags: pktbuild.SYN, Window: 64240,
			Options: pktbuild.Options{}.MSS(1460).NOP().WindowScale(7),
		},
	}
	b := syn.AppendTo(nil) // raw IP: no Ethernet header
	fmt.Println(len(b), "bytes")
	fmt.Printf("IPv4 % x\n", b[:pktbuild.IPv4Len])
	fmt.Printf("TCP  % x\n", b[pktbuild.IPv4Len:])
	// Output:
	// 48 bytes
	// IPv4 45 00 00 30 00 00 40 00 40 06 d4 84 c6 33 64 0a cb 00 71 05
	// TCP  9c 40 00 15 00 00 03 e8 00 00 00 00 70 02 fa f0 82 a6 00 00 02 04 05 b4 01 03 03 07
}
