// Package gen writes large, realistic packet captures for benchmarking
// ftpdiag, deterministically from a seed and a target size.
//
// It is not part of the analysis pipeline: it produces its input. A capture
// is mostly background traffic (HTTPS-like TCP over IPv4 and IPv6, DNS over
// UDP, ICMP, ARP) with FTP sessions interleaved, whose data connections are
// planned to succeed or fail in every way ftpdiag diagnoses: unreachable
// PASV addresses, unanswered or refused SYNs, connections closed without
// data or reset midway, refused PORT commands and 5-tuple reuse.
//
// Generation is a discrete-event simulation. A bounded set of flows is open
// at once (Config.Concurrency); each flow is planned in full when it starts
// (a compact list of packet descriptions, a few KiB at most) and played back
// packet by packet in timestamp order through a min-heap, so memory depends
// on the number of open flows, never on the size of the capture. Frames are
// written with encoding/binary into one reused buffer, checksums included,
// and go straight to a buffered writer.
//
// The same Config gives the same bytes: all randomness comes from a PCG
// generator seeded with Config.Seed, and capture time starts at Config.Start
// (a fixed date by default), never at the wall clock.
//
// Addresses are documentation prefixes (192.0.2.0/24, 198.51.100.0/24,
// 203.0.113.0/24, 2001:db8::/32) for public hosts and 10.0.0.0/8,
// 172.16.0.0/12 for the private addresses that FTP servers and clients
// behind NAT announce.
package gen
