package gen

import (
	"encoding/json"
	"fmt"
	"time"
)

// Format is the capture file format written.
type Format uint8

// The formats.
const (
	// FormatPcap is classic libpcap: little-endian, microsecond
	// timestamps, Ethernet link type.
	FormatPcap Format = iota
	// FormatPcapNG is pcapng with one section and one Ethernet interface
	// with microsecond timestamps.
	FormatPcapNG
)

// String returns "pcap" or "pcapng".
func (f Format) String() string {
	if f == FormatPcapNG {
		return "pcapng"
	}
	return "pcap"
}

// MarshalText spells the format as String does.
func (f Format) MarshalText() ([]byte, error) { return []byte(f.String()), nil }

// ParseFormat parses "pcap" or "pcapng".
func ParseFormat(s string) (Format, error) {
	switch s {
	case "pcap":
		return FormatPcap, nil
	case "pcapng":
		return FormatPcapNG, nil
	}
	return 0, fmt.Errorf("format %q: want pcap or pcapng", s)
}

// Class is a kind of generated traffic, used to count packets.
type Class uint8

// The traffic classes.
const (
	ClassHTTPS      Class = iota // TLS-looking TCP to port 443
	ClassDNS                     // DNS queries and responses over UDP
	ClassICMP                    // ICMP and ICMPv6 echo and errors
	ClassARP                     // ARP requests and replies
	ClassFTPControl              // FTP control connections
	ClassFTPData                 // FTP data connections
	NumClasses      = 6          // the number of classes
)

var classNames = [NumClasses]string{"https", "dns", "icmp", "arp", "ftp_control", "ftp_data"}

// String returns the class's snake_case name.
func (c Class) String() string {
	if int(c) < len(classNames) {
		return classNames[c]
	}
	return "unknown"
}

// MarshalText spells the class as String does.
func (c Class) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// Mode is how an FTP transfer's data endpoint was negotiated.
type Mode uint8

// The modes.
const (
	ModePASV Mode = iota // PASV, answered by 227
	ModeEPSV             // EPSV, answered by 229
	ModePORT             // PORT from the client
	ModeEPRT             // EPRT from the client
	NumModes = 4         // the number of modes
)

var modeNames = [NumModes]string{"pasv", "epsv", "port", "eprt"}

// String returns the mode's snake_case name.
func (m Mode) String() string {
	if int(m) < len(modeNames) {
		return modeNames[m]
	}
	return "unknown"
}

// MarshalText spells the mode as String does.
func (m Mode) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// Passive reports whether the server listens (PASV, EPSV).
func (m Mode) Passive() bool { return m == ModePASV || m == ModeEPSV }

// Outcome is what a transfer's data connection was planned to become. The
// names match ftpflow's outcomes, so a benchmark can compare plan and
// diagnosis.
type Outcome uint8

// The planned outcomes.
const (
	OutcomeCompleted         Outcome = iota // data carried, FIN, 2xx
	OutcomeSYNUnanswered                    // SYNs retransmitted, never answered
	OutcomeSYNRefused                       // the SYN answered by RST
	OutcomeClosedWithoutData                // opened and closed with no payload
	OutcomeReset                            // RST before the data ended
	OutcomeNotAttempted                     // no SYN at all, control says 425
	NumOutcomes              = 6            // the number of outcomes
)

var outcomeNames = [NumOutcomes]string{
	"completed", "syn_unanswered", "syn_refused", "closed_without_data", "reset", "not_attempted",
}

// String returns the outcome's snake_case name.
func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return "unknown"
}

// MarshalText spells the outcome as String does.
func (o Outcome) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// Fault is the failure planned for an FTP transfer.
type Fault uint8

// The faults.
const (
	// FaultNone: the transfer succeeds.
	FaultNone Fault = iota
	// FaultPrivatePASVFallback: 227 announces a private address; the
	// client connects to the control connection's address instead.
	FaultPrivatePASVFallback
	// FaultPrivatePASVUnreachable: 227 announces a private address; the
	// client's SYNs to it go unanswered; 425.
	FaultPrivatePASVUnreachable
	// FaultPrivatePASVNoConnect: 227 announces a private address; the
	// client never connects; 425.
	FaultPrivatePASVNoConnect
	// FaultSYNDropped: the data SYNs are retransmitted and never
	// answered; 425.
	FaultSYNDropped
	// FaultSYNRefused: the data SYN is answered by RST; 425.
	FaultSYNRefused
	// FaultClosedEmpty: the data connection opens and closes with FIN and
	// no data; 426 or 226.
	FaultClosedEmpty
	// FaultResetMidway: the data connection is reset partway; 426.
	FaultResetMidway
	// FaultPORTRefused: PORT or EPRT announces a private address and is
	// refused ("500 Illegal PORT command."); the transfer command gets 425.
	FaultPORTRefused
	// FaultTupleReuse: an active-mode data connection from port 20 reuses
	// the 5-tuple of the session's previous one within TIME-WAIT.
	FaultTupleReuse
	// NumFaults is the number of faults.
	NumFaults = 10
)

var faultNames = [NumFaults]string{
	"none", "private_pasv_fallback", "private_pasv_unreachable", "private_pasv_no_connect",
	"syn_dropped", "syn_refused", "closed_empty", "reset_midway", "port_refused", "tuple_reuse",
}

// String returns the fault's snake_case name.
func (f Fault) String() string {
	if int(f) < len(faultNames) {
		return faultNames[f]
	}
	return "unknown"
}

// MarshalText spells the fault as String does.
func (f Fault) MarshalText() ([]byte, error) { return []byte(f.String()), nil }

// Defaults used where a Config field is zero.
const (
	// DefaultConcurrency is the number of flows kept open at once.
	DefaultConcurrency = 150
	// DefaultFTPShare is the share of packets that belong to FTP sessions.
	DefaultFTPShare = 0.07
	// MaxConcurrency bounds Config.Concurrency, and so the memory used.
	MaxConcurrency = 4096
	// MinSize is the smallest Config.Size accepted.
	MinSize = 1 << 10
)

// DefaultStartUnix is the capture time of the first packet, in seconds
// since 1970 (2024-03-11 09:00:00 UTC), when Config.Start is zero.
const DefaultStartUnix = 1710147600

// Config says what to generate. The zero value of each field but Size
// selects a default.
type Config struct {
	// Seed selects the capture: the same Config gives the same bytes.
	Seed uint64
	// Size is the target size of the capture file in bytes, before any
	// compression. The file comes out a little under it (by less than a
	// few hundred bytes once Size exceeds a few hundred KiB).
	Size int64
	// Format is the file format.
	Format Format
	// Gzip compresses the output with gzip (fastest level; header without
	// name or time, so still deterministic).
	Gzip bool
	// Concurrency is the number of flows open at once; 0 means
	// DefaultConcurrency.
	Concurrency int
	// FTPShare is the share of packets in FTP sessions, in (0, 0.5]; 0
	// means DefaultFTPShare.
	FTPShare float64
	// Start is the time of the first packet; zero means DefaultStartUnix.
	Start time.Time
}

// Stats counts what Write generated. Transfers are the FTP transfer
// commands (LIST, NLST, RETR, STOR), each counted once by its planned
// outcome, mode and fault.
type Stats struct {
	// Packets and Bytes count the records and the bytes of the capture
	// file (headers included, before compression).
	Packets int64
	Bytes   int64
	// Compressed is the number of bytes written when Config.Gzip is set.
	Compressed int64
	// IPv6Packets counts the packets carried over IPv6.
	IPv6Packets int64
	// ByClass counts packets per traffic class, indexed by Class.
	ByClass [NumClasses]int64
	// Flows counts flows (a TCP connection, a DNS exchange, a ping, an
	// ARP exchange, or an FTP session with its data connections).
	Flows int64
	// TCPConns counts TCP connections, FTP ones included; IPv6Conns the
	// ones over IPv6.
	TCPConns  int64
	IPv6Conns int64
	// MaxOpen is the largest number of flows open at once.
	MaxOpen int
	// Sessions counts FTP sessions.
	Sessions int64
	// Transfers counts FTP transfers by planned outcome, indexed by
	// Outcome.
	Transfers [NumOutcomes]int64
	// Modes counts FTP transfers by mode, indexed by Mode.
	Modes [NumModes]int64
	// Faults counts FTP transfers by planned fault, indexed by Fault.
	Faults [NumFaults]int64
	// First and Last are the first and last packet times.
	First time.Time
	Last  time.Time
}

// TotalTransfers returns the number of FTP transfers.
func (s *Stats) TotalTransfers() int64 {
	var n int64
	for _, v := range s.Transfers {
		n += v
	}
	return n
}

// MarshalJSON writes the stats with counts keyed by name ("https",
// "syn_unanswered", ...) rather than by index.
func (s Stats) MarshalJSON() ([]byte, error) {
	named := func(n int, name func(int) string, v func(int) int64) map[string]int64 {
		m := make(map[string]int64, n)
		for i := range n {
			m[name(i)] = v(i)
		}
		return m
	}
	return json.Marshal(struct {
		Packets     int64            `json:"packets"`
		Bytes       int64            `json:"bytes"`
		Compressed  int64            `json:"compressed_bytes,omitempty"`
		IPv6Packets int64            `json:"ipv6_packets"`
		ByClass     map[string]int64 `json:"packets_by_class"`
		Flows       int64            `json:"flows"`
		TCPConns    int64            `json:"tcp_connections"`
		IPv6Conns   int64            `json:"ipv6_tcp_connections"`
		MaxOpen     int              `json:"max_open_flows"`
		Sessions    int64            `json:"ftp_sessions"`
		Transfers   map[string]int64 `json:"transfers_by_outcome"`
		Modes       map[string]int64 `json:"transfers_by_mode"`
		Faults      map[string]int64 `json:"transfers_by_fault"`
		First       time.Time        `json:"first"`
		Last        time.Time        `json:"last"`
	}{
		s.Packets, s.Bytes, s.Compressed, s.IPv6Packets,
		named(NumClasses, func(i int) string { return Class(i).String() }, func(i int) int64 { return s.ByClass[i] }),
		s.Flows, s.TCPConns, s.IPv6Conns, s.MaxOpen, s.Sessions,
		named(NumOutcomes, func(i int) string { return Outcome(i).String() }, func(i int) int64 { return s.Transfers[i] }),
		named(NumModes, func(i int) string { return Mode(i).String() }, func(i int) int64 { return s.Modes[i] }),
		named(NumFaults, func(i int) string { return Fault(i).String() }, func(i int) int64 { return s.Faults[i] }),
		s.First, s.Last,
	})
}
