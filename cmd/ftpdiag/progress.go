package main

import (
	"fmt"
	"io"
	"time"

	"github.com/jedib0t/go-pretty/v6/progress"

	"ftpdiag/pcap"
)

// progressBar shows bytes read of the total, packets per second and the
// time left, on stderr, while a long analysis runs.
type progressBar struct {
	pw      progress.Writer
	tracker *progress.Tracker
	readers []*pcap.Reader
	start   time.Time
}

// progressMinBytes is the input size below which no bar is shown.
const progressMinBytes = 16 << 20

func newProgressBar(out io.Writer, total int64, readers []*pcap.Reader) *progressBar {
	pw := progress.NewWriter()
	pw.SetOutputWriter(out)
	pw.SetAutoStop(false)
	pw.SetTrackerLength(30)
	pw.SetMessageLength(34)
	pw.SetUpdateFrequency(200 * time.Millisecond)
	pw.ShowETA(true)
	pw.SetStyle(progress.StyleDefault)
	pw.Style().Visibility.ETA = true
	pw.Style().Visibility.Speed = true
	tr := &progress.Tracker{Message: "reading", Total: total, Units: progress.UnitsBytes}
	pw.AppendTracker(tr)
	go pw.Render()
	return &progressBar{pw: pw, tracker: tr, readers: readers, start: time.Now()}
}

// consumed sums the bytes read from the inputs.
func (p *progressBar) consumed() int64 {
	var n int64
	for _, r := range p.readers {
		n += r.Consumed()
	}
	return n
}

// update is called every so many packets from the goroutine that reads
// the captures.
func (p *progressBar) update(packets int) {
	p.tracker.SetValue(p.consumed())
	if secs := time.Since(p.start).Seconds(); secs > 0 {
		p.tracker.UpdateMessage(fmt.Sprintf("%d packets, %.0f k/s", packets, float64(packets)/secs/1000))
	}
}

func (p *progressBar) stop() {
	p.tracker.MarkAsDone()
	time.Sleep(50 * time.Millisecond) // let the last frame render
	p.pw.Stop()
	for p.pw.IsRenderInProgress() {
		time.Sleep(10 * time.Millisecond)
	}
}
