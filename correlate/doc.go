// Package correlate compares captures of the same traffic taken at
// different places: a stage beside ftpdiag's pipeline (capture -> packets
// -> sessions -> findings -> report) that reads each input on its own.
//
// Correlate fingerprints every TCP connection of every file (the initial
// sequence numbers of both sides, TCP timestamps, the IP ID, payload
// hashes, MSS and window of the SYNs), matches connections across files
// even when a NAT rewrote their addresses and ports, and matches their
// packets one by one. From the matched packets it estimates each pair of
// files' clock offset, decides whether the files are views of the same
// traffic (Mode Views) or share nothing (ring-buffer pieces, unrelated
// captures: Mode Separate), and reports, per matched connection, the
// address translation it went through, the packets that left one capture
// point and never reached the other (or reached one without leaving the
// other: forged by a middlebox), payload rewritten on the way (an FTP
// helper changing PORT or 227) and SYN options changed (MSS clamping).
// Each matched or lone connection also keeps a Trace, its packets in time
// order as both files saw them (runs of like packets joined), from which
// reports draw ladders across the two capture points.
//
// Memory is bounded by named constants (connections per file, packets per
// connection and direction, text kept for rewritten payload), each with a
// counter in File; time is linear in the packets read.
package correlate
