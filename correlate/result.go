package correlate

import (
	"net/netip"
	"time"
)

// Mode says how the inputs relate.
type Mode uint8

// The modes of a Result.
const (
	// Separate: no two inputs share a packet (ring-buffer pieces,
	// unrelated captures); they are merged in time order as one capture.
	Separate Mode = iota
	// Views: at least two inputs saw the same packets from different
	// places.
	Views
)

// String returns "separate" or "views".
func (m Mode) String() string {
	if m == Views {
		return "views"
	}
	return "separate"
}

// MarshalText spells the mode as String does.
func (m Mode) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// Result is what Correlate found in its inputs.
type Result struct {
	Mode Mode
	// Files describes each input, in the order given.
	Files []File
	// Pairs holds one entry per pair of inputs that could both be read
	// (A < B), in input order.
	Pairs []Pair
}

// File is one input as Correlate read it.
type File struct {
	Name string
	// Packets counts the records read, TCPPackets the TCP segments among
	// them, Conns the TCP connections told apart.
	Packets, TCPPackets, Conns int
	First, Last                time.Time
	// DroppedConns counts connections beyond MaxConns (not compared),
	// DroppedPackets segments beyond the per-connection or per-file caps,
	// DroppedTexts payloads not kept as text (their rewrite, if any, is
	// reported without its text).
	DroppedConns, DroppedPackets, DroppedTexts int
	// Err is why reading stopped early, nil when the file was read to its
	// end.
	Err error
}

// Pair is the comparison of two inputs, A and B (indexes into
// Result.Files).
type Pair struct {
	A, B int
	// Views is true when the two files saw the same packets.
	Views bool
	// Offset is B's clock minus A's: a packet at time t in A is at about
	// t+Offset+Delay in B. It is the mean of the median time differences
	// of matched packets in each direction, so the one-way delay between
	// the capture points cancels out; with packets matched in one
	// direction only, it is that median (DelayKnown false).
	Offset time.Duration
	// Delay is the one-way delay from A's capture point to B's (half the
	// difference of the two directions' medians); DelayKnown says whether
	// both directions had matched packets.
	Delay      time.Duration
	DelayKnown bool
	// MatchedPackets counts the packets seen in both files.
	MatchedPackets int
	// SideA and SideB list the hosts found on each file's side of the path
	// between the two capture points, as addresses seen in A and in B.
	SideA, SideB []netip.Addr
	// Conns lists the connections seen in both files, in A's order.
	Conns []ConnMatch
	// Lone lists connections seen in only one of the two files while both
	// were capturing, with the fate of their packets.
	Lone []LoneConn
	// Omitted counts connections and packet groups left out of Conns,
	// Lone and their lists beyond the reporting caps.
	Omitted int
}

// Endpoints are a connection's two ends as one file saw them. Client is
// the side that sent the SYN (or the first packet seen, when ClientKnown
// is false).
type Endpoints struct {
	Client, Server netip.AddrPort
	ClientKnown    bool
	// FirstFrame is the connection's first frame in that file.
	FirstFrame int
}

// NATKind says which end of a connection a translation changed.
type NATKind uint8

// The translations a connection may go through between two files.
const (
	NATNone NATKind = iota
	// NATSource: the client's address or port differs (SNAT, MASQUERADE).
	NATSource
	// NATDestination: the server's address or port differs (DNAT, port
	// forwarding).
	NATDestination
	// NATBoth: both ends differ.
	NATBoth
)

var natNames = [...]string{"none", "source", "destination", "both"}

// String returns "none", "source", "destination" or "both".
func (k NATKind) String() string {
	if int(k) < len(natNames) {
		return natNames[k]
	}
	return "unknown"
}

// MarshalText spells the kind as String does.
func (k NATKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// ConnMatch is one TCP connection seen in both files of a pair.
type ConnMatch struct {
	// InA and InB are the connection as each file saw it.
	InA, InB Endpoints
	// NAT is the translation between the two views.
	NAT NATKind
	// Control is true for an FTP control connection (a 220 greeting from
	// the server).
	Control bool
	// MatchedBy names the fingerprints that matched ("isn", "tsval").
	MatchedBy []string
	// Packets counts the packets matched in both files.
	Packets int
	// Unanswered is true when the SYNs reached both capture points and
	// neither saw an answer: they were dropped beyond the farther one (by
	// the receiving host itself, say its firewall), not on the way.
	Unanswered bool
	// Losses lists, per direction, the packets seen in one file only.
	Losses []Loss
	// Rewrites lists payload changed on the way.
	Rewrites []Rewrite
	// Options lists SYN or SYN-ACK options changed on the way.
	Options []OptionChange
	// Trace is the connection's packets in time order, as both files saw
	// them, for ladder diagrams (see TraceStep); TraceOmitted counts the
	// packets beyond MaxTraceSteps.
	Trace        []TraceStep
	TraceOmitted int
}

// LoneConn is a connection seen in one file of a pair only.
type LoneConn struct {
	// Input is the file that saw it.
	Input int
	Conn  Endpoints
	// Losses says what became of its packets, per direction.
	Losses []Loss
	// Trace is its packets in time order (InA or InB set, as Input is
	// the pair's A or B), TraceOmitted those beyond MaxTraceSteps.
	Trace        []TraceStep
	TraceOmitted int
}

// LossKind says what packets seen at one capture point only mean.
type LossKind uint8

// The kinds of Loss. The first are packets that left the capture point
// nearer their sender and never reached the other; the last are packets
// seen only at the capture point nearer their receiver, so sent by
// something between the two in the name of their source.
const (
	// LostSYN: connection requests that never arrived.
	LostSYN LossKind = iota
	// LostSYNACK: the answer to a SYN that never came back.
	LostSYNACK
	// LostFullSize: full-size segments lost while smaller ones of the same
	// direction passed (a path MTU black hole).
	LostFullSize
	// LostData: data segments lost.
	LostData
	// LostFIN: a FIN (with or without data) lost.
	LostFIN
	// LostRST: a RST lost.
	LostRST
	// LostOther: pure acknowledgements and other segments lost.
	LostOther
	// ForgedRST: RSTs in a host's name that its side never sent.
	ForgedRST
	// AnsweredBetween: a SYN-ACK or RST answering a SYN, in the server's
	// name, that the server's side never sent.
	AnsweredBetween
	// Injected: other segments seen only at the receiver's capture point.
	Injected
	// Unplaced: seen in one file only, and neither side of the path is
	// known for their sender.
	Unplaced
)

var lossNames = [...]string{"syn_lost", "synack_lost", "full_size_lost", "data_lost", "fin_lost", "rst_lost",
	"other_lost", "forged_rst", "answered_between", "injected", "unplaced"}

// String returns the kind's snake_case name.
func (k LossKind) String() string {
	if int(k) < len(lossNames) {
		return lossNames[k]
	}
	return "unknown"
}

// MarshalText spells the kind as String does.
func (k LossKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// Vanished reports whether the kind is about packets that left their
// sender's side and never reached the other capture point.
func (k LossKind) Vanished() bool { return k <= LostOther }

// Loss is a group of packets of one connection and direction seen in one
// file of a pair and not in the other.
type Loss struct {
	Kind LossKind
	// Seen is the file that holds the packets, Missing the one that lacks
	// them.
	Seen, Missing int
	// Src and Dst are the direction, as Seen shows it.
	Src, Dst netip.AddrPort
	// Packets counts the segments; Bytes their TCP payload.
	Packets, Bytes int
	// Frames are the first of them in Seen (at most MaxFrames).
	Frames      []int
	First, Last time.Time
	// LargestPassed is the largest payload of the same direction that
	// reached both capture points, SmallestLost the smallest payload lost
	// (LostFullSize).
	LargestPassed, SmallestLost int
}

// Rewrite is a segment whose payload differs between the two files.
type Rewrite struct {
	// Src and Dst are the direction as A shows it.
	Src, Dst       netip.AddrPort
	FrameA, FrameB int
	// TextA and TextB are the payloads as text ("" when not kept), LenA
	// and LenB their lengths.
	TextA, TextB string
	LenA, LenB   int
	// SeqShift is how much the sequence numbers of that direction moved
	// between the two files after the rewrite (B minus A): a helper that
	// changes a payload's length shifts the rest of the connection.
	SeqShift int64
}

// OptionChange is a SYN or SYN-ACK whose MSS option or window differs
// between the two files.
type OptionChange struct {
	Src, Dst       netip.AddrPort // as A shows it
	FrameA, FrameB int
	MSSA, MSSB     int // 0: no MSS option
	WindowA        int
	WindowB        int
}
