package correlate

import (
	"context"
	"errors"
	"io"
	"time"

	"ftpdiag/analyze"
	"ftpdiag/pcap"
)

// Bounds of MayShare's look at each file.
const (
	// shareWindowBefore and shareWindowAfter bound, around the moment the
	// last file began, the time in which the files' connection openings
	// are compared: the window allows for clocks that disagree by a
	// minute.
	shareWindowBefore = time.Minute
	shareWindowAfter  = 2 * time.Minute
	// maxShareKeys is the number of connection openings kept per file.
	maxShareKeys = 1 << 13
	// maxShareBytes is how far into a file MayShare reads, to reach the
	// window and through it.
	maxShareBytes = 256 << 20
)

// MayShare takes a cheap look at the inputs and reports whether two of
// them may have seen the same TCP connections: whether a connection
// opening (the initial sequence number of a SYN or SYN-ACK, which a NAT
// does not rewrite) appears in two files around the moment the last of
// them began capturing. Two captures of the same traffic taken at the same
// time share their first connections; ring-buffer pieces and unrelated
// captures share none, and are then not worth Correlate's comparison.
//
// The look reads each file from its start until the window (from a minute
// before the last file's first packet to two minutes after it) is past,
// at most 256 MiB of it, and keeps at most 8192 openings per file. It
// can miss files whose clocks disagree by more than a minute, or that
// overlap only after the window: Correlate, called directly, compares
// those too. A shared opening can also be chance (32-bit numbers): the
// comparison then finds the files separate. Each input is read once (an
// input given as a Reader is consumed); all are open at once, as in the
// analysis. The error names an input that could not be opened; MayShare
// then reports false.
func MayShare(ctx context.Context, inputs []analyze.Input) (bool, error) {
	if len(inputs) < 2 {
		return false, nil
	}
	looks := make([]*look, 0, len(inputs))
	defer func() {
		for _, l := range looks {
			l.r.Close()
		}
	}()
	var start time.Time
	for _, in := range inputs {
		l, err := startLook(ctx, in)
		if err != nil {
			return false, err
		}
		if l == nil {
			continue // empty: it opens nothing
		}
		looks = append(looks, l)
		if l.first.After(start) {
			start = l.first
		}
	}
	from, to := start.Add(-shareWindowBefore), start.Add(shareWindowAfter)
	seen := map[shareKey]int{} // the first look each opening was seen in
	for i, l := range looks {
		for k := range l.openings(from, to) {
			if first, ok := seen[k]; ok && first != i {
				return true, nil
			}
			seen[k] = i
		}
		if err := ctx.Err(); err != nil {
			return false, err
		}
	}
	return false, nil
}

// shareKey is a connection opening: the initial sequence number of a SYN
// (synack false) or of its answer.
type shareKey struct {
	isn    uint32
	synack bool
}

// look is one input being looked at: its reader, past its first packet.
type look struct {
	r     *pcap.Reader
	dec   *pcap.Decoder
	first time.Time
	// key is the first packet's opening, if it is one.
	key   shareKey
	isKey bool
}

// startLook opens an input and reads its first packet;
// it returns nil for an input without packets.
func startLook(ctx context.Context, in analyze.Input) (*look, error) {
	r, err := openInput(ctx, in)
	if err != nil {
		return nil, err
	}
	l := &look{r: r, dec: pcap.NewDecoder()}
	p, err := r.Next()
	if err != nil {
		r.Close()
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, err
	}
	l.first = p.Timestamp
	l.key, l.isKey = l.opening(p)
	return l, nil
}

// opening returns the connection opening p is, if it is one.
func (l *look) opening(p *pcap.Packet) (shareKey, bool) {
	d := l.dec.Decode(p)
	if d.Kind != pcap.KindTCP || !d.TCP.SYN {
		return shareKey{}, false
	}
	return shareKey{isn: d.TCP.Seq, synack: d.TCP.ACK}, true
}

// openings returns the connection openings the input shows between from
// and to, within the bounds above. A file damaged past its first packets
// gives what was read before the damage.
func (l *look) openings(from, to time.Time) map[shareKey]struct{} {
	keys := map[shareKey]struct{}{}
	if l.isKey && !l.first.Before(from) && !l.first.After(to) {
		keys[l.key] = struct{}{}
	}
	for len(keys) < maxShareKeys && l.r.Consumed() < maxShareBytes {
		p, err := l.r.Next()
		if err != nil {
			break // the end, or damage: judge by what was read
		}
		if p.Timestamp.Before(from) {
			continue
		}
		if p.Timestamp.After(to) {
			break
		}
		if k, ok := l.opening(p); ok {
			keys[k] = struct{}{}
		}
	}
	return keys
}
