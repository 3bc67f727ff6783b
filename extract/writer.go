package extract

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"ftpdiag/analyze"
	"ftpdiag/pcap"
)

// extractor routes the packets of the inputs to the targets they belong
// to. The packets wait in a spool (a temporary file) indexed by target,
// then each target's capture is written whole, one at a time: memory and
// open files do not grow with the number of targets.
type extractor struct {
	readers []*pcap.Reader
	targets []Target
	owner   map[connPair]int // target index
	index   [][]int64        // per target, its packets' offsets in the spool
	spool   *spool
	masker  *passMasker // nil with ShowPasswords
	read    []pcap.Info // Options.Read
}

func newExtractor(targets []Target, readers []*pcap.Reader, opt Options) *extractor {
	x := &extractor{readers: readers, targets: targets, owner: map[connPair]int{}, index: make([][]int64, len(targets)), spool: newSpool(), read: opt.Read}
	for i, t := range targets {
		x.owner[pairOf(t.Client, t.Server)] = i
		for _, c := range t.Conns {
			x.owner[pairOf(c[0], c[1])] = i
		}
	}
	if !opt.ShowPasswords {
		x.masker = &passMasker{inPass: map[controlFlow]bool{}}
	}
	return x
}

// checkEvery is how many packets pass between cancellation checks.
const checkEvery = 4096

// collect reads every packet once and spools those of the targets.
func (x *extractor) collect(ctx context.Context) error {
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
			return x.newDamage(m.Errors())
		}
		if err != nil {
			return err
		}
		d := dec.Decode(p)
		i, ok := x.targetOf(d)
		if !ok {
			continue
		}
		x.mask(p, d, x.targets[i])
		off, err := x.spool.add(p)
		if err != nil {
			return fmt.Errorf("spooling packets: %w", err)
		}
		x.index[i] = append(x.index[i], off)
	}
}

// newDamage joins the errors that stopped inputs on this pass, but for
// damage the analysis already found there (Options.Read).
func (x *extractor) newDamage(errs []error) error {
	var news []error
	for _, err := range errs {
		if !analyze.DamagedBefore(err, x.read) {
			news = append(news, err)
		}
	}
	return errors.Join(news...)
}

// targetOf finds the target a packet belongs to, if any.
func (x *extractor) targetOf(d *pcap.Decoded) (int, bool) {
	var i int
	var ok bool
	switch d.Kind {
	case pcap.KindTCP:
		i, ok = x.owner[pairOf(netip.AddrPortFrom(d.Src, uint16(d.TCP.SrcPort)), netip.AddrPortFrom(d.Dst, uint16(d.TCP.DstPort)))]
	case pcap.KindTooBig:
		i, ok = x.owner[pairOf(d.QuotedSrc, d.QuotedDst)]
	}
	return i, ok
}

// mask hides PASS arguments in a target's client-to-server control bytes.
func (x *extractor) mask(p *pcap.Packet, d *pcap.Decoded, t Target) {
	if x.masker == nil || d.Kind != pcap.KindTCP {
		return
	}
	flow := controlFlow{netip.AddrPortFrom(d.Src, uint16(d.TCP.SrcPort)), netip.AddrPortFrom(d.Dst, uint16(d.TCP.DstPort))}
	if flow.client == t.Client && flow.server == t.Server {
		x.masker.mask(p.Data, d, flow)
	}
}

// emit writes each target's capture in turn to the writer create gives,
// closing it (when it is an io.Closer) before the next.
func (x *extractor) emit(create func(Target) (io.Writer, error)) ([]File, error) {
	var files []File
	for i, t := range x.targets {
		if len(x.index[i]) == 0 {
			continue
		}
		f := File{Session: t.Session, Name: t.FileName("")}
		n, err := x.emitOne(t, x.index[i], create)
		if err != nil {
			// Not listed as written: a capture cut by a full disk is no
			// evidence to attach.
			return files, fmt.Errorf("session %d: %s: %w", t.Session, f.Name, err)
		}
		f.Packets = n
		files = append(files, f)
	}
	return files, nil
}

func (x *extractor) emitOne(t Target, offsets []int64, create func(Target) (io.Writer, error)) (int, error) {
	out, err := create(t)
	if err != nil {
		return 0, err
	}
	sw := &sessionWriter{out: out, iface: map[ifaceKey]int{}}
	n, err := x.copyPackets(sw, offsets)
	if err == nil {
		err = sw.flush()
	}
	if c, ok := out.(io.Closer); ok {
		if cerr := c.Close(); err == nil {
			err = cerr
		}
	}
	return n, err
}

func (x *extractor) copyPackets(sw *sessionWriter, offsets []int64) (int, error) {
	for i, off := range offsets {
		r, err := x.spool.record(off)
		if err != nil {
			return i, err
		}
		info := x.readers[r.input].Info()
		comment := fmt.Sprintf("ftpdiag: frame %d of %s", r.frame, info.Name)
		if err := sw.write(r, info.Snaplen, comment); err != nil {
			return i, err
		}
	}
	return len(offsets), nil
}

// ifaceKey names an interface of the output: one per input and link type,
// so that packets keep the link type and snapshot length they had.
type ifaceKey struct {
	input int
	link  layers.LinkType
}

// sessionWriter writes one capture as pcapng.
type sessionWriter struct {
	out   io.Writer
	w     *pcapgo.NgWriter
	iface map[ifaceKey]int
}

func (sw *sessionWriter) write(r spooled, snaplen int, comment string) error {
	key := ifaceKey{r.input, r.link}
	id, ok := sw.iface[key]
	if !ok {
		var err error
		if id, err = sw.addInterface(r.link, snaplen); err != nil {
			return err
		}
		sw.iface[key] = id
	}
	return sw.w.WritePacketWithOptions(gopacket.CaptureInfo{
		Timestamp: r.time, CaptureLength: len(r.data), Length: max(r.origLen, len(r.data)), InterfaceIndex: id,
	}, r.data, pcapgo.NgPacketOptions{Comments: []string{comment}})
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

// spooled is one packet read back from the spool.
type spooled struct {
	time    time.Time
	origLen int
	frame   int
	input   int
	link    layers.LinkType
	data    []byte
}

// recordHeader is the spool's header before each packet's bytes.
const recordHeader = 8 + 4 + 4 + 4 + 4 + 2 + 2 // sec, ns, orig, frame, caplen, input, link

func encodeRecord(buf []byte, p *pcap.Packet) []byte {
	buf = binary.LittleEndian.AppendUint64(buf, uint64(p.Timestamp.Unix()))
	buf = binary.LittleEndian.AppendUint32(buf, uint32(p.Timestamp.Nanosecond()))
	buf = binary.LittleEndian.AppendUint32(buf, uint32(p.OriginalLength))
	buf = binary.LittleEndian.AppendUint32(buf, uint32(p.Frame))
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(p.Data)))
	buf = binary.LittleEndian.AppendUint16(buf, uint16(p.Input))
	buf = binary.LittleEndian.AppendUint16(buf, uint16(p.LinkType))
	return append(buf, p.Data...)
}

func decodeHeader(h []byte) (spooled, int) {
	r := spooled{
		time:    time.Unix(int64(binary.LittleEndian.Uint64(h)), int64(binary.LittleEndian.Uint32(h[8:]))).UTC(),
		origLen: int(binary.LittleEndian.Uint32(h[12:])),
		frame:   int(binary.LittleEndian.Uint32(h[16:])),
		input:   int(binary.LittleEndian.Uint16(h[24:])),
		link:    layers.LinkType(binary.LittleEndian.Uint16(h[26:])),
	}
	return r, int(binary.LittleEndian.Uint32(h[20:]))
}
