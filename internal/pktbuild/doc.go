// Package pktbuild writes TCP/IP frames byte by byte, with correct lengths
// and checksums, for the programs and tests that make captures:
// internal/simtrace, internal/gen, fixtures/make/synth and bench/connflood.
// It is not part of the analysis pipeline; it makes the pipeline's input.
//
// Frame.AppendTo builds a whole TCP segment in an IPv4 or IPv6 packet, in
// an Ethernet frame or bare (a raw IP link). The pieces it is made of, the
// header types' Put methods, Options and the checksum functions, are
// exported for a caller that writes frames of other protocols in place, as
// internal/gen does for UDP, ICMP and ARP.
//
// Records go to files through gopacket's pcapgo, or through internal/gen's
// own streaming pcap and pcapng writer; this package only builds frames.
package pktbuild
