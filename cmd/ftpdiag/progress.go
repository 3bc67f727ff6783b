package main

import (
	"fmt"
	"io"
	"time"

	"github.com/jedib0t/go-pretty/v6/progress"

	"ftpdiag/analyze"
)

// progressBar shows bytes read of the total, packets per second and the
// time left, on stderr, while a long analysis runs.
type progressBar struct {
	pw      progress.Writer
	tracker *progress.Tracker
	start   time.Time
}

// progressMinBytes is the input size below which no bar is shown.
const progressMinBytes = 16 << 20

func newProgressBar(out io.Writer, total int64) *progressBar {
	pw := progress.NewWriter()
	pw.SetOutputWriter(out)
	pw.SetAutoStop(false)
	pw.SetTrackerLength(30)
	pw.SetMessageLength(34)
	pw.SetUpdateFrequency(200 * time.Millisecond)
	pw.SetStyle(progress.StyleDefault)
	pw.Style().Visibility.ETA = true
	pw.Style().Visibility.Speed = true
	tr := &progress.Tracker{Message: "reading", Total: total, Units: progress.UnitsBytes}
	pw.AppendTracker(tr)
	go pw.Render()
	return &progressBar{pw: pw, tracker: tr, start: time.Now()}
}

// update is called every so many packets from the goroutine that reads
// the captures.
func (p *progressBar) update(pr analyze.Progress) {
	packets := pr.Packets
	p.tracker.SetValue(pr.BytesRead)
	if secs := time.Since(p.start).Seconds(); secs > 0 {
		p.tracker.UpdateMessage(fmt.Sprintf("%d packets, %.0f k/s", packets, float64(packets)/secs/1000))
	}
}

// stop draws the last frame and ends the bar. Render draws the current
// state when stopped, so there is nothing to wait for but its goroutine
// (a fixed sleep here cost a sixth of the time of a 1 GiB run). Both waits
// are bounded.
func (p *progressBar) stop() {
	p.tracker.MarkAsDone()
	for i := 0; i < 100 && !p.pw.IsRenderInProgress(); i++ {
		time.Sleep(time.Millisecond) // Render has not started yet
	}
	p.pw.Stop()
	for i := 0; i < 1000 && p.pw.IsRenderInProgress(); i++ {
		time.Sleep(time.Millisecond)
	}
}
