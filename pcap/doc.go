// Package pcap reads pcap and pcapng files, plain or gzip, and yields their
// packets.
//
// It is the first stage of ftpdiag's one-pass pipeline:
//
//	capture file -> packets -> TCP connections -> FTP sessions -> findings -> report
//	   (pcap)       (pcap)       (ftpflow)          (ftpflow)      (analyze)   (cmd)
//
// A Reader turns one file into Packets: raw frames with their capture time,
// lengths, link type and Wireshark frame number. The format is sniffed from
// the content (gzip, then classic pcap in either byte order with micro- or
// nanosecond timestamps, the modified Kuznetzov format, or pcapng with any
// number of sections and interfaces). A Merger interleaves several Readers in
// timestamp order. Decoding the frames into TCP segments is done by the
// decoder in decode.go, kept apart from the file readers.
//
// Reading is zero-copy: Packet.Data points into the reader's buffer and is
// valid only until the next call to Next. Every bound is a named constant
// (maxRecordLen and the block limits in reader.go), and nothing is allocated
// in proportion to a length read from the file.
//
// Each packet also says which of its file's interfaces captured it and
// carries its pcapng comments, and Reader.Interface describes the
// interfaces, so that NgWriter can write packets again as they were: same
// bytes, link types, timestamps to the last digit, comments kept.
//
// Damage is reported, never guessed around: Next returns every packet before
// the damage, then a *FormatError whose one-line text names the file, the
// record and the offset ("capture.pcap: record 5123 at offset 8813202:
// captured length 4294967295 exceeds snapshot length 262144"). Quirks that
// Wireshark tolerates are kept as warnings in Info, each kind once with a
// count, and never logged.
package pcap
