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
