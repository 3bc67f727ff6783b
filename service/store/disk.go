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

// chunkReader is what the object store reads an object from. It fills
// each read whole, since the object store publishes one message per read:
// an HTTP body read as it arrives (often 16 KiB at a time) would make
// eight times the messages of 128 KiB chunks, and as many acknowledgements
// pending, which a cluster slowed by a dead node answers too late (the
// object store then gives up: "stalled with too many outstanding async
// published messages"). It also fails with ErrFull once the disk under
// dir (if any) is nearly full.
type chunkReader struct {
	r     io.Reader
	dir   string
	since int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if c.since >= diskCheckEvery {
		c.since = 0
		if err := checkDisk(c.dir); err != nil {
			return 0, err
		}
	}
	// An empty read with no error is not the end: a report is written
	// through a pipe, and its writers may write empty strings.
	n := 0
	for n < len(p) {
		k, err := c.r.Read(p[n:])
		n += k
		if err != nil {
			c.since += n
			return n, err // io.EOF after the last, short chunk
		}
	}
	c.since += n
	return n, nil
}
