package store

import (
	"fmt"
	"io"
)

// When NATS runs in this process, its files share a file system with
// whatever else writes there, and a disk that fills under JetStream makes
// the server disable JetStream until it restarts. So every object is
// written through a guard that looks at the file system's free space
// before it starts and after each diskCheckEvery bytes, and stops the
// write with ErrFull while less than the margin is free: the object store
// then purges what it wrote, and JetStream never meets the full disk.
const (
	diskCheckEvery = 1 << 20
	// minDiskMargin and maxDiskMargin bound the margin, otherwise 2% of
	// the file system.
	minDiskMargin = 8 << 20
	maxDiskMargin = 1 << 30
)

// diskMargin is the free space kept on a file system of total bytes.
func diskMargin(total int64) int64 {
	return min(max(total/50, minDiskMargin), maxDiskMargin)
}

// checkDisk returns an error wrapping ErrFull when dir's file system has
// less than its margin free; nil when it has more or dir is "".
func checkDisk(dir string) error {
	if dir == "" {
		return nil
	}
	free, total, err := diskSpace(dir)
	if err != nil || total == 0 {
		return nil // unknown: JetStream's own limit still applies
	}
	if margin := diskMargin(total); free < margin {
		return fmt.Errorf("%w: %d bytes free on the file system of %s, %d kept free", ErrFull, free, dir, margin)
	}
	return nil
}

// diskGuard is a reader that fails with ErrFull once the disk is nearly
// full.
type diskGuard struct {
	r     io.Reader
	dir   string
	since int
}

func (g *diskGuard) Read(p []byte) (int, error) {
	if g.since >= diskCheckEvery {
		g.since = 0
		if err := checkDisk(g.dir); err != nil {
			return 0, err
		}
	}
	n, err := g.r.Read(p)
	g.since += n
	return n, err
}
