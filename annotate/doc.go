// Package annotate writes annotated captures: the inputs of an analysis,
// merged in time order as the analysis read them, as one pcapng file whose
// packets carry the diagnosis as comments, for Wireshark's Packet Comments
// pane, its frame.comment field and Expert Info.
//
// In the pipeline it stands beside report and extract: it takes what
// analyze found and reads the captures a second time through pcap.
//
// Write is the front door: given the inputs of an analyze.Run and what it
// returned, it writes the annotated capture to any io.Writer (a file for
// ftpdiag --annotate, an HTTP response for the service).
package annotate
