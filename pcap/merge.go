package pcap

import (
	"io"
)

// Merger reads several captures as one, in timestamp order. Packets with
// equal timestamps come from the lower input index first; packets of one
// input keep their file order.
//
// A packet returned by Next stays valid until the following call to Next:
// the input it came from is advanced only then. When an input fails, its
// error is recorded (see Errors and Infos) and the merge goes on with the
// others, so Next never returns a *FormatError.
//
// The Merger takes over its readers: do not call their Next yourself. It
// does not close them.
type Merger struct {
	rs      []*Reader
	heap    []mergeItem // min-heap on (time, input)
	started bool        // the heap is filled (with one input: the input is done)
	last    bool        // heap[0] holds the packet returned last, to be replaced
	errs    []error
}

// mergeItem is one input's next packet.
type mergeItem struct {
	sec int64
	ns  int64
	in  int
	p   *Packet
}

func (a *mergeItem) less(b *mergeItem) bool {
	if a.sec != b.sec {
		return a.sec < b.sec
	}
	if a.ns != b.ns {
		return a.ns < b.ns
	}
	return a.in < b.in
}

// NewMerger returns a Merger over readers; a packet's Input is its reader's
// index here.
func NewMerger(readers ...*Reader) *Merger {
	return &Merger{rs: readers, heap: make([]mergeItem, 0, len(readers))}
}

// Next returns the earliest packet not yet returned, or io.EOF when every
// input is done (at its end or at its first error).
func (m *Merger) Next() (*Packet, error) {
	if len(m.rs) == 1 {
		return m.nextOne()
	}
	if !m.started {
		m.started = true
		for i := range m.rs {
			if it, ok := m.pull(i); ok {
				m.heap = append(m.heap, it)
			}
		}
		for i := len(m.heap)/2 - 1; i >= 0; i-- {
			m.down(i)
		}
	} else if m.last {
		if it, ok := m.pull(m.heap[0].in); ok {
			m.heap[0] = it
		} else {
			n := len(m.heap) - 1
			m.heap[0] = m.heap[n]
			m.heap = m.heap[:n]
		}
		m.down(0)
	}
	if len(m.heap) == 0 {
		m.last = false
		return nil, io.EOF
	}
	m.last = true
	return m.heap[0].p, nil
}

// nextOne is Next for a single input: no heap, no time comparisons.
func (m *Merger) nextOne() (*Packet, error) {
	if m.started {
		return nil, io.EOF
	}
	p, err := m.rs[0].Next()
	if err != nil {
		m.started = true // done
		if err != io.EOF {
			m.errs = append(m.errs, err)
		}
		return nil, io.EOF
	}
	p.Input = 0
	return p, nil
}

// pull reads input i's next packet; at its end or error the input is done.
func (m *Merger) pull(i int) (mergeItem, bool) {
	p, err := m.rs[i].Next()
	if err != nil {
		if err != io.EOF {
			m.errs = append(m.errs, err)
		}
		return mergeItem{}, false
	}
	p.Input = i
	sec := p.Timestamp.Unix()
	return mergeItem{sec: sec, ns: int64(p.Timestamp.Nanosecond()), in: i, p: p}, true
}

// down restores the heap order below i.
func (m *Merger) down(i int) {
	h := m.heap
	n := len(h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		c := l
		if r := l + 1; r < n && h[r].less(&h[l]) {
			c = r
		}
		if !h[c].less(&h[i]) {
			return
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
}

// Errors returns the errors that stopped inputs so far, in the order met
// (each input stops at its first).
func (m *Merger) Errors() []error {
	return append([]error(nil), m.errs...)
}

// Infos returns each input's Info, in input order. An input stopped by an
// error has Complete false and the error text last in Warnings.
func (m *Merger) Infos() []Info {
	out := make([]Info, len(m.rs))
	for i, r := range m.rs {
		out[i] = r.Info()
	}
	return out
}
