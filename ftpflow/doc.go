// Package ftpflow is the middle of ftpdiag's pipeline: capture file ->
// packets (package pcap) -> TCP connections and FTP sessions (here) ->
// findings (package analyze) -> report (package report).
//
// A Tracker takes decoded packets in capture order. It follows every TCP
// connection's life from its headers alone (SYNs and their retransmissions,
// SYN-ACK, RST, FINs, payload bytes from sequence numbers, retransmissions,
// reuse of a 5-tuple), recognises FTP control connections (port 21, or a 220
// greeting answered by FTP commands on any port), reassembles only those
// with gopacket's reassembly package, and parses their commands and replies
// (RFC 959, 2428, 1639, 3659, 4217). Every endpoint announced by PASV, EPSV,
// LPSV, PORT, EPRT or LPRT is linked to the data connection that used it,
// or to none; every transfer command gets its replies, its data connection
// and an Outcome.
//
// The text parsers (ParseCommand, ParseReplyLine, ReplyFramer, ParsePASV,
// ParseEPSV, ParsePORT, ParseEPRT, ParseLPRT, ParseLPSV, ParseTransferSize)
// are pure functions of their input, usable on their own.
//
// Every bound is a named constant or a Config field, and Stats counts what
// a bound dropped. Time comes from the packets, never from the clock.
package ftpflow
