package main

import (
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"

	"github.com/jedib0t/go-pretty/v6/progress"
)

// countingFile counts the bytes read from a capture file, for the progress
// bar (the compressed bytes, for gzip files, so the total is the file size).
type countingFile struct {
	f *os.File
	n *atomic.Int64
}

func (c countingFile) Read(p []byte) (int, error) {
	n, err := c.f.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// progressBar shows bytes read of the total, packets per second and the
// time left, on stderr, while a long analysis runs.
type progressBar struct {
	pw      progress.Writer
	tracker *progress.Tracker
	read    *atomic.Int64
	start   time.Time
}

// progressMinBytes is the input size below which no bar is shown.
const progressMinBytes = 16 << 20

func newProgressBar(out io.Writer, total int64, read *atomic.Int64) *progressBar {
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
	return &progressBar{pw: pw, tracker: tr, read: read, start: time.Now()}
}

// update is called every so many packets from the analysis loop.
func (p *progressBar) update(packets int) {
	p.tracker.SetValue(p.read.Load())
	if secs := time.Since(p.start).Seconds(); secs > 0 {
		p.tracker.UpdateMessage(fmt.Sprintf("%d packets, %.0f k/s", packets, float64(packets)/secs/1000))
	}
}

func (p *progressBar) stop() {
	p.tracker.SetValue(p.read.Load())
	p.tracker.MarkAsDone()
	time.Sleep(50 * time.Millisecond) // let the last frame render
	p.pw.Stop()
	for p.pw.IsRenderInProgress() {
		time.Sleep(10 * time.Millisecond)
	}
}
