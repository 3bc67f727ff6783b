package report

import (
	"fmt"

	"ftpdiag/ftpflow"
)

// fileVantages tallies, per input file, where its sessions' captures were
// taken (ftpflow.Conn.Locate of each control connection), to say where
// each file of a comparison was captured.
type fileVantages map[int]*vantageTally

// vantageTally counts one file's sessions by vantage side and keeps the
// reason the first one with a known side gave.
type vantageTally struct {
	sessions int
	sides    map[ftpflow.Vantage]int
	first    ftpflow.VantagePoint
}

// add counts s under the file its control connection came from.
func (fv fileVantages) add(s *ftpflow.Session) {
	in := s.Control.First.Input
	t := fv[in]
	if t == nil {
		t = &vantageTally{sides: map[ftpflow.Vantage]int{}}
		fv[in] = t
	}
	t.sessions++
	v := s.Control.Locate()
	if v.Side == ftpflow.VantageUnknown {
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
		fv.add(s)
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
	return Vantage{Side: t.first.Side.String(),
		Reason: fmt.Sprintf("%d of %d session(s) seen from there; the first: %s", known, t.sessions, t.first.Reason)}
}
