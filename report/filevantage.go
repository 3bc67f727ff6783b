package report

import (
	"fmt"

	"ftpdiag/ftpflow"
)

// fileVantages tallies, per input file, where its sessions' captures were
// taken (the vantage of each control connection), to say where each file
// of a comparison was captured.
type fileVantages map[int]*vantageTally

// vantageTally counts one file's sessions by vantage side and keeps the
// first with a known side.
type vantageTally struct {
	sessions int
	sides    map[string]int
	first    Vantage
}

// add counts a session, seen from v, under the file its control
// connection came from.
func (fv fileVantages) add(input int, v Vantage) {
	t := fv[input]
	if t == nil {
		t = &vantageTally{sides: map[string]int{}}
		fv[input] = t
	}
	t.sessions++
	if v.Side == ftpflow.VantageUnknown.String() {
		return
	}
	if len(t.sides) == 0 {
		t.first = v
	}
	t.sides[v.Side]++
}

// addAll counts every session.
func (fv fileVantages) addAll(sessions []*ftpflow.Session) fileVantages {
	for _, s := range sessions {
		v := s.Control.Locate()
		fv.add(s.Control.First.Input, Vantage{Side: v.Side.String(), Reason: v.Reason})
	}
	return fv
}

// of says where input was captured: the side its sessions agree on, or
// unknown (none tells, or they disagree), with the reason.
func (fv fileVantages) of(input int) Vantage {
	t := fv[input]
	switch {
	case t == nil || t.sessions == 0:
		return Vantage{Side: "unknown", Reason: "no FTP session in this file"}
	case len(t.sides) == 0:
		return Vantage{Side: "unknown", Reason: fmt.Sprintf("none of its %d session(s) tells", t.sessions)}
	case len(t.sides) > 1:
		return Vantage{Side: "unknown", Reason: fmt.Sprintf("its %d sessions disagree", t.sessions)}
	}
	known := t.sides[t.first.Side]
	return Vantage{Side: t.first.Side,
		Reason: fmt.Sprintf("%d of %d session(s) seen from there; the first: %s", known, t.sessions, t.first.Reason)}
}
