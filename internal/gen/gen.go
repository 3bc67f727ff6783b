package gen

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"time"
)

// Bounds and tunables of the simulation.
const (
	poolSize    = 1 << 20 // random bytes that payloads are cut from
	writeBuffer = 1 << 20 // bufio size in front of the output
	// maxKeptEnts: a finished flow keeps its plan's storage for reuse
	// up to this many entries.
	maxKeptEnts = 512
	// spawnGap is the mean gap between flow starts, µs.
	spawnGap = 400
	// ftpSlotsDiv: at most Concurrency/ftpSlotsDiv flows are FTP
	// sessions, which last long and would otherwise crowd the others out.
	ftpSlotsDiv = 2
)

// category is what the mix is balanced over: FTP sessions count their
// control and data packets together.
type category uint8

const (
	catHTTPS category = iota
	catDNS
	catICMP
	catARP
	catFTP
	numCats
)

// generator is the state of one Write: the open flows and what is needed
// to plan new ones. Nothing in it grows with the capture.
type generator struct {
	cfg   Config
	rng   *rand.Rand
	pool  []byte
	heap  []*flow // open flows, a min-heap on (next packet time, id)
	free  []*flow // finished flows, reused
	buf   []byte  // one record
	share [numCats]float64

	nextID    uint64
	now       int64 // time of the last packet written, µs
	spawnAt   int64 // time of the last flow start, µs
	projected int64 // bytes written plus bytes planned by open flows
	planned   [numCats]int64
	ftpOpen   int
	ftpMax    int
	done      bool

	deck    []scenario // FTP transfer scenarios, dealt in shuffled rounds
	deckPos int

	stats Stats
}

// Write writes a capture described by cfg to w and reports what it holds.
// It streams: memory use depends on cfg.Concurrency, not cfg.Size.
func Write(w io.Writer, cfg Config) (Stats, error) {
	if err := cfg.withDefaults(); err != nil {
		return Stats{}, err
	}
	out := w
	var gz *gzip.Writer
	var cw *countWriter
	if cfg.Gzip {
		cw = &countWriter{w: w}
		gz, _ = gzip.NewWriterLevel(cw, gzip.BestSpeed) // a valid level: no error
		out = gz
	}
	bw := bufio.NewWriterSize(out, writeBuffer)
	g := newGenerator(cfg)
	err := g.run(bw)
	if err == nil {
		err = bw.Flush()
	}
	if gz != nil {
		if e := gz.Close(); err == nil {
			err = e
		}
		g.stats.Compressed = cw.n
	}
	if err != nil {
		return g.stats, fmt.Errorf("writing capture: %w", err)
	}
	return g.stats, nil
}

// Validate reports whether Write accepts cfg, so that a program can
// check it before creating an output file.
func (cfg Config) Validate() error { return cfg.withDefaults() }

// withDefaults validates cfg and fills in defaults.
func (cfg *Config) withDefaults() error {
	if cfg.Size < MinSize {
		return fmt.Errorf("size %d: want at least %d bytes", cfg.Size, MinSize)
	}
	if cfg.Format != FormatPcap && cfg.Format != FormatPcapNG {
		return fmt.Errorf("format %d: unknown", cfg.Format)
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.Concurrency < 1 || cfg.Concurrency > MaxConcurrency {
		return fmt.Errorf("concurrency %d: want 1 to %d", cfg.Concurrency, MaxConcurrency)
	}
	if cfg.FTPShare == 0 {
		cfg.FTPShare = DefaultFTPShare
	}
	if !(cfg.FTPShare > 0 && cfg.FTPShare <= 0.5) {
		return errors.New("FTP share: want more than 0 and at most 0.5")
	}
	if cfg.Start.IsZero() {
		cfg.Start = time.Unix(DefaultStartUnix, 0).UTC()
	}
	return nil
}

func newGenerator(cfg Config) *generator {
	g := &generator{
		cfg: cfg,
		rng: rand.New(rand.NewPCG(cfg.Seed, 0x66747064696167)), // "ftpdiag"
		buf: make([]byte, ngRecHdr+maxFrame+8),
	}
	g.pool = make([]byte, poolSize)
	for i := 0; i < len(g.pool); i += 8 {
		le.PutUint64(g.pool[i:], g.rng.Uint64())
	}
	rest := 1 - cfg.FTPShare
	g.share = [numCats]float64{
		catHTTPS: rest * 0.925, catDNS: rest * 0.055, catICMP: rest * 0.015, catARP: rest * 0.005,
		catFTP: cfg.FTPShare,
	}
	g.ftpMax = max(1, cfg.Concurrency/ftpSlotsDiv)
	g.now = cfg.Start.UnixMicro()
	g.spawnAt = g.now
	g.deck = newDeck()
	return g
}

// run writes the file header, then packets until the size is reached and
// every flow has ended.
func (g *generator) run(w *bufio.Writer) error {
	hdr := fileHeader(g.cfg.Format)
	if _, err := w.Write(hdr); err != nil {
		return err
	}
	g.stats.Bytes = int64(len(hdr))
	g.projected = int64(len(hdr))
	g.refill()
	rh := recHdrLen(g.cfg.Format)
	for len(g.heap) > 0 {
		f := g.heap[0]
		e := &f.ents[f.next]
		t := max(e.t, g.now+1) // strictly increasing capture times
		n := g.build(g.buf[rh:], f, e)
		rec := frameRecord(g.cfg.Format, g.buf, n, t)
		if _, err := w.Write(rec); err != nil {
			return err
		}
		g.count(f, e, t, len(rec))
		g.now = t
		f.next++
		if f.next < len(f.ents) {
			g.down(0)
			continue
		}
		g.pop()
		if f.conns[0].class == ClassFTPControl {
			g.ftpOpen--
		}
		if cap(f.ents) > maxKeptEnts {
			f.ents = nil // let an unusually long plan go
		}
		g.free = append(g.free, f)
		g.refill()
	}
	return nil
}

// count adds a written packet to the stats.
func (g *generator) count(f *flow, e *ent, t int64, n int) {
	s := &g.stats
	c := &f.conns[e.conn]
	if s.Packets == 0 {
		s.First = time.UnixMicro(t).UTC()
	}
	s.Last = time.UnixMicro(t).UTC()
	s.Packets++
	s.Bytes += int64(n)
	s.ByClass[c.class]++
	if c.v6 {
		s.IPv6Packets++
	}
}

// refill starts flows until Concurrency are open or the planned bytes
// reach the target size.
func (g *generator) refill() {
	for !g.done && len(g.heap) < g.cfg.Concurrency {
		f := g.spawn(g.cfg.Size - g.projected)
		if f == nil {
			g.done = true
			return
		}
		g.projected += f.bytes
		g.push(f)
		if len(g.heap) > g.stats.MaxOpen {
			g.stats.MaxOpen = len(g.heap)
		}
	}
}

// spawn plans a new flow of at most budget bytes, of the category furthest
// behind its share, or a smaller one when it does not fit. It returns nil
// when nothing fits.
func (g *generator) spawn(budget int64) *flow {
	if budget < int64(2*recLen(g.cfg.Format, minFrame)) {
		return nil
	}
	var f *flow
	if n := len(g.free); n > 0 {
		f, g.free = g.free[n-1], g.free[:n-1]
	} else {
		f = new(flow)
	}
	g.nextID++
	g.spawnAt = max(g.spawnAt, g.now) + int64(g.rng.ExpFloat64()*spawnGap) + 1
	start := g.spawnAt
	cat := g.pick()
	for {
		f.reset(g.nextID, g.rng.Uint64())
		var tl tally
		switch cat {
		case catFTP:
			tl = g.planFTP(f, start, budget)
		case catHTTPS:
			g.planHTTPS(f, start, budget)
		case catDNS:
			g.planDNS(f, start)
		case catICMP:
			g.planICMP(f, start)
		default:
			g.planARP(f, start)
		}
		f.seal(func(n int) int { return recLen(g.cfg.Format, n) })
		if f.bytes <= budget {
			g.accept(f, cat, &tl)
			return f
		}
		switch cat {
		case catFTP, catICMP:
			cat = catHTTPS
		case catHTTPS:
			cat = catDNS
		case catDNS:
			cat = catARP
		default:
			g.free = append(g.free, f)
			return nil
		}
	}
}

// accept counts a planned flow.
func (g *generator) accept(f *flow, cat category, tl *tally) {
	g.planned[cat] += int64(len(f.ents))
	s := &g.stats
	s.Flows++
	for i := range f.conns {
		if c := &f.conns[i]; c.proto == protoTCP {
			s.TCPConns++
			if c.v6 {
				s.IPv6Conns++
			}
		}
	}
	if cat == catFTP {
		g.ftpOpen++
		s.Sessions++
		for i, v := range tl.outcomes {
			s.Transfers[i] += v
		}
		for i, v := range tl.modes {
			s.Modes[i] += v
		}
		for i, v := range tl.faults {
			s.Faults[i] += v
		}
	}
}

// pick returns the category whose planned packets lag furthest behind
// its share, among those that may start now.
func (g *generator) pick() category {
	best, bestRatio := catHTTPS, math.Inf(1)
	for c := range numCats {
		if c == catFTP && g.ftpOpen >= g.ftpMax {
			continue
		}
		if r := float64(g.planned[c]) / g.share[c]; r < bestRatio {
			best, bestRatio = c, r
		}
	}
	return best
}

// Heap on (next packet time, id).

func (g *generator) less(i, j int) bool {
	a, b := g.heap[i], g.heap[j]
	ta, tb := a.at(), b.at()
	return ta < tb || ta == tb && a.id < b.id
}

func (g *generator) push(f *flow) {
	g.heap = append(g.heap, f)
	for i := len(g.heap) - 1; i > 0; {
		p := (i - 1) / 2
		if !g.less(i, p) {
			break
		}
		g.heap[i], g.heap[p] = g.heap[p], g.heap[i]
		i = p
	}
}

func (g *generator) pop() {
	n := len(g.heap) - 1
	g.heap[0] = g.heap[n]
	g.heap[n] = nil
	g.heap = g.heap[:n]
	if n > 0 {
		g.down(0)
	}
}

func (g *generator) down(i int) {
	n := len(g.heap)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && g.less(r, l) {
			m = r
		}
		if !g.less(m, i) {
			return
		}
		g.heap[i], g.heap[m] = g.heap[m], g.heap[i]
		i = m
	}
}

// Random helpers.

// between returns a uniform integer in [lo, hi].
func (g *generator) between(lo, hi int64) int64 {
	if hi <= lo {
		return lo
	}
	return lo + g.rng.Int64N(hi-lo+1)
}

// chance reports true with probability p.
func (g *generator) chance(p float64) bool { return g.rng.Float64() < p }

// logUniform returns an integer spread evenly in log scale over [lo, hi].
func (g *generator) logUniform(lo, hi int64) int64 {
	return int64(float64(lo) * math.Exp(g.rng.Float64()*math.Log(float64(hi)/float64(lo))))
}

// countWriter counts the bytes written through it.
type countWriter struct {
	w io.Writer
	n int64
}

// Write writes p through and counts what was written.
func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
