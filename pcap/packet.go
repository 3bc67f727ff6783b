package pcap

import (
	"fmt"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// Packet is one captured frame as read from a capture file.
//
// Data aliases the reader's buffer: it is valid only until the next call to
// Next on the reader (or merger) that returned it. Copy what must be kept.
type Packet struct {
	// Data holds the captured bytes, starting at the link-layer header.
	Data []byte
	// Timestamp is the capture time recorded in the file.
	Timestamp time.Time
	// OriginalLength is the length of the frame on the wire; it may exceed
	// len(Data) when the capture was cut by a snapshot length.
	OriginalLength int
	// LinkType tells how Data begins (Ethernet, Linux SLL, raw IP...).
	LinkType layers.LinkType
	// Frame is the 1-based number of the record within its file, counted
	// as Wireshark counts frames.
	Frame int
	// Input is the index of the file the packet came from among the files
	// being merged (0 when there is one).
	Input int
	// Interface is the index, in the file's list of interfaces (see
	// Reader.Interface), of the interface the packet was captured on:
	// always 0 for classic pcap.
	Interface int
	// Comments are the packet's own comments (pcapng opt_comment options
	// of an enhanced or obsolete packet block), in file order; nil when it
	// has none. The slice is valid until the next call to Next; the
	// strings are the caller's to keep.
	Comments []string
}

// Interface describes one capture interface of a file: what a pcapng
// interface description block declares, or what a classic pcap file
// header does for all of its packets.
type Interface struct {
	LinkType layers.LinkType
	// Snaplen is the snapshot length (0: none declared).
	Snaplen uint32
	// Resolution is the timestamp unit as pcapng's if_tsresol spells it:
	// 10^-n seconds, or 2^-(n&0x7f) seconds when the high bit is set.
	// Classic pcap gives 6 (microseconds) or 9 (nanoseconds); a pcapng
	// interface that says nothing, or gives a unit the reader cannot use,
	// gives 6.
	Resolution uint8
	// Offset is pcapng's if_tsoffset: seconds added to every timestamp
	// the interface's packets carry (Packet.Timestamp includes it).
	Offset int64
	// Options are the interface's options that mean the same in either
	// byte order, kept so that a writer can describe the interface again:
	// comments, name, description, addresses, string filter, OS, FCS
	// length, hardware. At most maxKeptOptions of them, each of at most
	// maxKeptOptionLen bytes.
	Options []Option
}

// Option is one pcapng option: its code and value, unpadded.
type Option struct {
	Code  uint16
	Value []byte
}

// Format names a capture file format.
type Format int

// The capture formats the reader understands.
const (
	FormatUnknown Format = iota
	FormatPcap
	FormatPcapNG
)

// String returns the format's name as used in reports: "pcap" or "pcapng".
func (f Format) String() string {
	switch f {
	case FormatPcap:
		return "pcap"
	case FormatPcapNG:
		return "pcapng"
	}
	return "unknown"
}

// MarshalText spells the format as String does.
func (f Format) MarshalText() ([]byte, error) { return []byte(f.String()), nil }

// Info describes one input file and what reading it found.
type Info struct {
	// Name is the file name as given by the user ("-" for standard input).
	Name string
	// Format is the container format, detected from the content.
	Format Format
	// Compressed is true when the file was gzip-compressed.
	Compressed bool
	// LinkTypes lists the distinct link types of the file's interfaces, in
	// order of appearance.
	LinkTypes []layers.LinkType
	// Snaplen is the largest snapshot length declared by the file.
	Snaplen int
	// Nanosecond is true when timestamps have better than microsecond
	// resolution.
	Nanosecond bool
	// Packets counts the records read.
	Packets int
	// First and Last are the smallest and largest timestamps read.
	First, Last time.Time
	// Bytes counts the bytes consumed from the (decompressed) file.
	Bytes int64
	// Warnings lists quirks tolerated while reading and, when Complete is
	// false, the error that stopped reading. Capture text is quoted.
	Warnings []string
	// Complete is false when reading stopped before the end of the file.
	Complete bool
}

// LinkTypeName returns a stable lower-case name for a link type, such as
// "ethernet", "linux_sll2" or "raw", or "linktype_N" for others.
func LinkTypeName(lt layers.LinkType) string {
	switch lt {
	case layers.LinkTypeNull:
		return "null"
	case layers.LinkTypeEthernet:
		return "ethernet"
	case layers.LinkTypeRaw, layers.LinkTypeIPv4, layers.LinkTypeIPv6:
		return "raw"
	case layers.LinkTypeLoop:
		return "loop"
	case layers.LinkTypeLinuxSLL:
		return "linux_sll"
	case layers.LinkTypeLinuxSLL2:
		return "linux_sll2"
	}
	return fmt.Sprintf("linktype_%d", int(lt))
}
