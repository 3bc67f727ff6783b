// Package analyze turns the FTP sessions that package ftpflow found into
// findings: the fourth stage of ftpdiag's pipeline (capture -> packets ->
// sessions -> findings -> report).
//
// Run opens the inputs (files or readers; pcap, pcapng, gzip-compressed or
// not), merges them in time order and analyses them; Packets reads any
// packet source (a *pcap.Reader, a *pcap.Merger) to its end and applies
// the rules. Each Finding has a stable kind (the Kind constants), a
// Severity, the session and transfer it belongs to, evidence (frames,
// times, addresses, counts), a one-line summary, an explanation a student
// can learn from, a remediation an administrator can act on, and a
// Wireshark display filter showing the evidence. One failed transfer is
// reported once, by its root cause, with the server's reply and the other
// consequences in that finding's evidence.
//
// Package ftpdiag, at the root of the module, drives Run and the reports
// in one call, as the command does.
package analyze
