package analyze

import (
	"context"

	"ftpdiag/ftpflow"
	"ftpdiag/pcap"
)

// RunView analyses inputs[i] alone, as Run analyses one input, with its
// packets, sessions and findings numbered as input i of inputs: one view
// of traffic that the other inputs saw from other places (package
// correlate compares them, correlate.Join joins the views' analyses).
// Analysis.Inputs holds the one input read.
func RunView(ctx context.Context, inputs []Input, i int, opt Options) (*Analysis, error) {
	opt.input = i
	return Run(ctx, inputs[i:i+1], opt)
}

// viewSource gives the packets of a lone input the index of the input
// among the views (RunView).
type viewSource struct {
	src   PacketSource
	input int
}

// Next returns the next packet, numbered as the view's input.
func (v viewSource) Next() (*pcap.Packet, error) {
	p, err := v.src.Next()
	if p != nil {
		p.Input = v.input
	}
	return p, err
}

// SessionView is how one input saw a session that several inputs saw from
// different places (Analysis.Views).
type SessionView struct {
	// Input is the input's index.
	Input int
	// ID is the session's ID in the analysis of that input alone.
	ID int
	// Session is the session as that input's analysis saw it: its
	// addresses, frames and vantage are that file's. The session of the
	// first view is the one the analysis lists (renumbered).
	Session *ftpflow.Session
	// NAT is the address translation between the first view and this
	// one: "none", "source" (the client's end differs), "destination"
	// (the server's end) or "both"; "none" for the first view.
	NAT string
}

// ViewSessions returns every session as each input saw it: the sessions
// of the analysis, and for a joined analysis (Views), the other views'
// sessions folded into them, each once. Reports read where each input was
// captured from them.
func (a *Analysis) ViewSessions() []*ftpflow.Session {
	if len(a.Views) == 0 {
		return a.Sessions
	}
	out := make([]*ftpflow.Session, 0, len(a.Sessions))
	for _, s := range a.Sessions {
		out = append(out, s)
		for _, v := range a.Views[s.ID] {
			if v.Session != s {
				out = append(out, v.Session)
			}
		}
	}
	return out
}
