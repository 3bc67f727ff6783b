package analyze

import (
	"fmt"
	"net/netip"
	"slices"
	"time"
)

// rangeLoad is what a server's announcements show of the load on its
// passive range, beyond rangeUse's counts.
type rangeLoad struct {
	// reuses counts announcements of a port whose previous use ended less
	// than TIME-WAIT earlier.
	reuses int
	// span is from the first announcement to the last.
	span time.Duration
}

// measureLoad counts the reuses of each port within timeWait of its
// previous hold's end, and the time the announcements span.
func measureLoad(uses []portUse, timeWait time.Duration) rangeLoad {
	var l rangeLoad
	byPort := map[uint16][]portHold{}
	first, last := uses[0].hold.from, uses[0].hold.from
	for _, u := range uses {
		byPort[u.port] = append(byPort[u.port], u.hold)
		first, last = minTime(first, u.hold.from), maxTime(last, u.hold.from)
	}
	for _, hs := range byPort {
		slices.SortFunc(hs, func(a, b portHold) int { return a.from.Compare(b.from) })
		for i := 1; i < len(hs); i++ {
			if hs[i].from.Before(hs[i-1].to.Add(timeWait)) {
				l.reuses++
			}
		}
	}
	l.span = last.Sub(first)
	return l
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// rangeMinPerPort is how many announcements each port must carry, on
// average, for a range to be called narrow: fewer say little about the
// range, only that few transfers were seen.
const rangeMinPerPort = 3

// narrowRange reports whether a server's announcements show a small range
// worked hard: few ports, each announced several times, and ports coming
// back before TIME-WAIT could have freed them.
func narrowRange(r rangeUse, l rangeLoad, offers int) bool {
	return offers >= exhaustionMinOffers && r.span() <= exhaustionMaxRange &&
		offers >= rangeMinPerPort*r.distinct && l.reuses >= r.distinct
}

// passiveRange reports, as information, a narrow passive range under load:
// nothing failed, but the figures say how close the server is to running
// out (passive_port_exhaustion reports it when it does).
func (d *diag) passiveRange(server netip.Addr, uses []portUse, r rangeUse) {
	l := measureLoad(uses, d.opt.TimeWait)
	if !narrowRange(r, l, len(uses)) {
		return
	}
	capacity := float64(r.span()) / d.opt.TimeWait.Seconds()
	rate := 0.0
	if l.span > 0 {
		rate = float64(len(uses)-1) / l.span.Seconds()
	}
	ev := newEvidence(map[string]any{
		"server": server.String(), "inferred_range": fmt.Sprintf("%d-%d", r.lo, r.hi), "range_ports": r.span(),
		"distinct_ports_seen": r.distinct, "offers": len(uses), "offers_per_port": float64(len(uses)) / float64(r.distinct),
		"reuses_within_time_wait": l.reuses, "time_wait_seconds": d.opt.TimeWait.Seconds(),
		"capacity_per_second": capacity, "observed_per_second": rate, "sessions": r.sessions,
	})
	d.add(Finding{Kind: KindPassivePortRange, Severity: Info, Confidence: Likely, Session: r.sessions[0],
		Summary: fmt.Sprintf("server %s served %d passive transfers over %d ports (%d-%d), %d on a port used less than TIME-WAIT before: at worst %.2f transfers/s sustainable",
			server, len(uses), r.distinct, r.lo, r.hi, l.reuses, capacity),
		Explanation: fmt.Sprintf("Every passive transfer takes a port of the server's passive range. The ports announced here all fall within %d-%d (%d distinct, %.1f announcements each), so the configured range is probably that small. "+
			"%d announcements named a port whose previous connection had ended less than %s (TIME-WAIT) earlier. Where a port can serve a new transfer only once the old connection on it is gone (a client reusing its own port, or a server that will not reuse a port while a connection on it lingers, as some do), the sustainable rate is at worst ports / TIME-WAIT = %d / %s = %.2f transfers per second; the capture shows %.2f per second. "+
			"Nothing failed here; a burst of quicker or concurrent transfers would make the server refuse PASV (passive_port_exhaustion).",
			r.lo, r.hi, r.distinct, float64(len(uses))/float64(r.distinct), l.reuses, d.opt.TimeWait, r.span(), d.opt.TimeWait, capacity, rate),
		Remediation: "Widen the passive port range (vsftpd pasv_min_port/pasv_max_port, ProFTPD PassivePorts, Pure-FTPd -p) and open the same range in the firewall.",
		Filter:      fmt.Sprintf("%s && (ftp.response.code == 227 || ftp.response.code == 229)", hostFilter(server))}, ev)
}
