package analyze

import (
	"net/netip"
	"slices"

	"ftpdiag/ftpflow"
	"ftpdiag/pcap"
)

// evidence builds a finding's Refs and their JSON view, Finding.Evidence,
// together: each method that cites a frame, a connection, an offer or a
// transfer records it in both, so that the two cannot disagree and no code
// has to read the view back.
type evidence struct {
	refs Refs
	view map[string]any
	// refused are the frames of the refusals counted (refusal).
	refused []int
}

// newEvidence starts a finding's evidence with the details that only
// people read (counts, times, texts); nil starts it empty. Frames,
// connections, offers and transfers go through the methods instead, which
// record them in Refs too.
func newEvidence(details map[string]any) *evidence {
	if details == nil {
		details = map[string]any{}
	}
	return &evidence{view: details}
}

// fill gives a finding its Evidence and Refs and, unless it has a filter
// of its own, the display filter the Refs derive.
func (e *evidence) fill(f *Finding) {
	f.Evidence, f.Refs = e.view, e.refs
	if f.Filter == "" {
		f.Filter = displayFilter(e.refs)
	}
}

// set records a detail that only people read.
func (e *evidence) set(key string, v any) { e.view[key] = v }

// frame cites one TCP packet under key ("syn_frame", "rst_frame"...).
func (e *evidence) frame(key string, frame int) {
	e.view[key] = frame
	e.refs.Frames = append(e.refs.Frames, frame)
}

// syns cites every SYN of a connection.
func (e *evidence) syns(c *ftpflow.Conn) {
	fs := make([]int, 0, len(c.SYNs))
	for _, ev := range c.SYNs {
		fs = append(fs, ev.Frame)
	}
	e.view["syn_frames"] = fs
	e.refs.Frames = append(e.refs.Frames, fs...)
}

// reply cites a server reply under key ("reply", "server_reply"); a nil
// reply is shown as such.
func (e *evidence) reply(key string, r *ftpflow.ReplyRecord) {
	e.view[key] = replyView(r)
	if r != nil {
		e.refs.ReplyFrames = append(e.refs.ReplyFrames, r.Frame)
	}
}

func replyView(r *ftpflow.ReplyRecord) map[string]any {
	if r == nil {
		return nil
	}
	return map[string]any{"code": r.Code, "text": r.Text, "frame": r.Frame, "time": stamp(r.Time)}
}

// conn names a data connection by its endpoints.
func (e *evidence) conn(c *ftpflow.Conn) {
	e.refs.Conn = ConnRef{Client: c.Client, Server: c.Server}
	e.view["data_client"], e.view["data_server"] = c.Client.String(), c.Server.String()
}

// tuple names the 5-tuple a connection reused.
func (e *evidence) tuple(client, server netip.AddrPort) {
	e.refs.Conn = ConnRef{Client: client, Server: server}
	e.view["tuple"] = client.String() + " > " + server.String()
}

// offer cites the announcement a finding is about.
func (e *evidence) offer(o *ftpflow.Offer) {
	e.refs.Offer = OfferRef{ID: o.ID, Frame: o.Frame, Endpoint: o.Endpoint}
	e.view["offer_kind"] = o.Kind.String()
	e.view["announced"] = o.Endpoint.String()
	e.view["offer_frame"] = o.Frame
}

// heldOffer cites a passive announcement the cross-session rules recorded.
func (e *evidence) heldOffer(r *offerRecord) {
	id := 0
	if r.offer != nil {
		id = r.offer.ID
	}
	e.refs.Offer = OfferRef{ID: id, Frame: r.frame, Endpoint: r.endpoint}
	e.view["offer_frame"] = r.frame
	e.view["announced"] = r.endpoint.String()
}

// firstOffer cites the first of several announcements of one address.
func (e *evidence) firstOffer(o *ftpflow.Offer) {
	e.refs.Offer = OfferRef{ID: o.ID, Frame: o.Frame, Endpoint: o.Endpoint}
	e.view["first_offer_frame"] = o.Frame
	e.view["first_offer_text"] = o.Line
}

// transfer cites a transfer's command and the announcement it used.
func (e *evidence) transfer(t *ftpflow.Transfer) {
	if t.Command != "" {
		e.view["command"] = describeTransfer(t)
		e.view["command_frame"] = t.Frame
		e.refs.CommandFrame = t.Frame
	}
	if t.Offer != nil {
		e.offer(t.Offer)
	}
}

// request cites the frame of a request the server answered.
func (e *evidence) request(frame int) {
	e.view["request_frame"] = frame
	e.refs.RequestFrame = frame
}

// accepted cites the server's 234 accepting TLS.
func (e *evidence) accepted(frame int) {
	e.view["accepted_frame"] = frame
	e.refs.AcceptedFrame = frame
}

// transfers cites the transfers concerned, by ID.
func (e *evidence) transfers(ids []int) {
	e.view["transfers"] = ids
	e.refs.Transfers = ids
}

// icmpTooBig cites the ICMP "too big" messages about a connection; none is
// shown as null.
func (e *evidence) icmpTooBig(msgs []ftpflow.TooBig) {
	var view []map[string]any
	for _, tb := range msgs {
		view = append(view, map[string]any{"frame": tb.Frame, "mtu": tb.MTU, "router": tb.Router.String()})
		e.refs.ICMPFrames = append(e.refs.ICMPFrames, tb.Frame)
	}
	e.view["icmp_too_big"] = view
}

// refusal counts one more reply refusing passive ports: "refusals" and
// "refusal_frames" in the view, its frame among the reply frames (once:
// the first refusal is also the reply cited).
func (e *evidence) refusal(frame int) {
	e.refused = append(e.refused, frame)
	if n := len(e.refs.ReplyFrames); n == 0 || e.refs.ReplyFrames[n-1] != frame {
		e.refs.ReplyFrames = append(e.refs.ReplyFrames, frame)
	}
	e.view["refusals"] = len(e.refused)
	e.view["refusal_frames"] = slices.Clone(e.refused)
}

// portsHeld cites the passive announcements holding a port when the
// server refused one: under "ports_held", each with its session, port and
// frame; the sessions and frames in Refs.
func (e *evidence) portsHeld(held []*offerRecord) {
	view := make([]map[string]any, 0, len(held))
	for _, o := range held {
		view = append(view, map[string]any{"session": o.session, "port": int(o.endpoint.Port()), "offer_frame": o.frame})
		e.refs.Sessions = appendOnce(e.refs.Sessions, o.session)
		e.refs.Frames = append(e.refs.Frames, o.frame)
	}
	e.view["ports_held"] = view
}

// damage cites where reading an input stopped: the file, the record that
// could not be read and its offset; in Refs, the frame before that record,
// the last one read (none when the first record is damaged).
func (e *evidence) damage(fe *pcap.FormatError) {
	e.view["file"], e.view["record"], e.view["offset"] = fe.File, fe.Record, fe.Offset
	if fe.Record > 1 {
		e.refs.Frames = append(e.refs.Frames, fe.Record-1)
	}
}

func transferIDs(ts []*ftpflow.Transfer) []int {
	ids := make([]int, 0, len(ts))
	for _, t := range ts {
		ids = append(ids, t.ID)
	}
	return ids
}
