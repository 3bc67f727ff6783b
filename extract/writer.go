package extract

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"ftpdiag/ftpflow"
	"ftpdiag/pcap"
)

// extractor routes the packets of the inputs to the sessions they belong
// to.
type extractor struct {
	readers  []*pcap.Reader
	owner    map[connPair]*ftpflow.Session
	writers  map[int]*sessionWriter
	sessions []*ftpflow.Session
	masker   *passMasker // nil with ShowPasswords
}

func newExtractor(sessions []*ftpflow.Session, readers []*pcap.Reader, opt Options) *extractor {
	x := &extractor{readers: readers, owner: map[connPair]*ftpflow.Session{}, writers: map[int]*sessionWriter{}, sessions: sessions}
	if !opt.ShowPasswords {
		x.masker = &passMasker{inPass: map[controlFlow]bool{}}
	}
	for _, s := range sessions {
		x.owner[pairOf(s.Client, s.Server)] = s
		for _, c := range sessionConns(s) {
			x.owner[pairOf(c.Client, c.Server)] = s
		}
	}
	return x
}

// checkEvery is how many packets pass between cancellation checks.
const checkEvery = 4096

// copy reads every packet once and writes those of the sessions.
func (x *extractor) copy(ctx context.Context, create func(*ftpflow.Session) (io.Writer, error)) error {
	m := pcap.NewMerger(x.readers...)
	dec := pcap.NewDecoder()
	for n := 1; ; n++ {
		if n%checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("evidence captures interrupted: %w", err)
			}
		}
		p, err := m.Next()
		if errors.Is(err, io.EOF) {
			return errors.Join(m.Errors()...)
		}
		if err != nil {
			return err
		}
		d := dec.Decode(p)
		s := x.sessionOf(d)
		if s == nil {
			continue
		}
		if x.masker != nil && d.Kind == pcap.KindTCP {
			flow := controlFlow{netip.AddrPortFrom(d.Src, uint16(d.TCP.SrcPort)), netip.AddrPortFrom(d.Dst, uint16(d.TCP.DstPort))}
			if flow.client == s.Client && flow.server == s.Server {
				x.masker.mask(p.Data, d, flow)
			}
		}
		if err := x.write(s, p, create); err != nil {
			return err
		}
	}
}

// sessionOf finds the session a packet belongs to, if any.
func (x *extractor) sessionOf(d *pcap.Decoded) *ftpflow.Session {
	switch d.Kind {
	case pcap.KindTCP:
		return x.owner[pairOf(netip.AddrPortFrom(d.Src, uint16(d.TCP.SrcPort)), netip.AddrPortFrom(d.Dst, uint16(d.TCP.DstPort)))]
	case pcap.KindTooBig:
		return x.owner[pairOf(d.QuotedSrc, d.QuotedDst)]
	}
	return nil
}

func (x *extractor) write(s *ftpflow.Session, p *pcap.Packet, create func(*ftpflow.Session) (io.Writer, error)) error {
	w := x.writers[s.ID]
	if w == nil {
		out, err := create(s)
		if err != nil {
			return fmt.Errorf("session %d: %w", s.ID, err)
		}
		w = &sessionWriter{name: FileName("", s), out: out, iface: map[ifaceKey]int{}}
		x.writers[s.ID] = w
	}
	info := x.readers[p.Input].Info()
	comment := fmt.Sprintf("ftpdiag: frame %d of %s", p.Frame, info.Name)
	if err := w.write(p, info.Snaplen, comment); err != nil {
		return fmt.Errorf("session %d: %s: %w", s.ID, w.name, err)
	}
	return nil
}

// close flushes every writer.
func (x *extractor) close() []error {
	var errs []error
	for id, w := range x.writers {
		if err := w.flush(); err != nil {
			errs = append(errs, fmt.Errorf("session %d: %s: %w", id, w.name, err))
		}
	}
	return errs
}

// files lists what was written, in session order.
func (x *extractor) files() []File {
	var out []File
	for _, s := range x.sessions {
		if w := x.writers[s.ID]; w != nil {
			out = append(out, File{Session: s.ID, Name: w.name, Packets: w.n})
		}
	}
	slices.SortFunc(out, func(a, b File) int { return a.Session - b.Session })
	return out
}

// ifaceKey names an interface of the output: one per input and link type,
// so that packets keep the link type and snapshot length they had.
type ifaceKey struct {
	input int
	link  layers.LinkType
}

// sessionWriter writes one session's packets as pcapng.
type sessionWriter struct {
	name  string
	out   io.Writer
	w     *pcapgo.NgWriter
	iface map[ifaceKey]int
	n     int
}

func (sw *sessionWriter) write(p *pcap.Packet, snaplen int, comment string) error {
	key := ifaceKey{p.Input, p.LinkType}
	id, ok := sw.iface[key]
	if !ok {
		var err error
		if id, err = sw.addInterface(p.LinkType, snaplen); err != nil {
			return err
		}
		sw.iface[key] = id
	}
	sw.n++
	return sw.w.WritePacketWithOptions(gopacket.CaptureInfo{
		Timestamp: p.Timestamp, CaptureLength: len(p.Data), Length: max(p.OriginalLength, len(p.Data)), InterfaceIndex: id,
	}, p.Data, pcapgo.NgPacketOptions{Comments: []string{comment}})
}

func (sw *sessionWriter) addInterface(lt layers.LinkType, snaplen int) (int, error) {
	ifc := pcapgo.NgInterface{LinkType: lt, SnapLength: uint32(max(snaplen, 0))}
	if sw.w == nil {
		w, err := pcapgo.NewNgWriterInterface(sw.out, ifc, pcapgo.NgWriterOptions{})
		if err != nil {
			return 0, err
		}
		sw.w = w
		return 0, nil
	}
	return sw.w.AddInterface(ifc)
}

func (sw *sessionWriter) flush() error {
	if sw.w == nil {
		return nil
	}
	return sw.w.Flush()
}
