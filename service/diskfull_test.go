package service_test

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"ftpdiag/service"
	"ftpdiag/service/store"
)

// TestDiskFull runs the service on a real file system of 96 MiB (a
// tmpfs) that something else fills while JetStream's own limit is still
// far: an upload is refused with 507 and nothing of it is left, /readyz
// says the storage is full, and once the space is back the service takes
// and analyses captures again without a restart (JetStream was never
// disabled by the full disk).
func TestDiskFull(t *testing.T) {
	dir := mountTmpfs(t, 96<<20)
	ts := startService(t, func(c *service.Config) { c.Dir = dir })

	filler := filepath.Join(dir, "filler")
	fillDisk(t, dir, filler, 8<<20+12<<20) // the margin and 12 MiB more
	big := bigCapture(t, 24<<20)
	r := ts.do("POST", "/api/v1/captures", acmeToken, io.MultiReader(bytes.NewReader(big))) // no length: found while storing
	if r.code != http.StatusInsufficientStorage || !strings.Contains(string(r.body), "storage is full") {
		t.Fatalf("upload onto a full disk: %v, want 507 storage is full", r)
	}
	if objects, chunks := ts.leftovers(); objects != 0 || chunks != 0 {
		t.Errorf("after the refused upload: %d objects, %d chunks left", objects, chunks)
	}
	if n := ts.records("acme"); n != 0 {
		t.Errorf("after the refused upload: %d records", n)
	}
	more := filepath.Join(dir, "filler2")
	fillDisk(t, dir, more, 4<<20) // below the margin
	if r := ts.do("GET", "/readyz", "", nil); r.code != http.StatusServiceUnavailable || !strings.Contains(string(r.body), "storage full") {
		t.Errorf("/readyz on a full disk: %v, want 503 storage full", r)
	}

	for _, f := range []string{filler, more} {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	if r := ts.do("GET", "/readyz", "", nil); r.code != http.StatusOK {
		t.Errorf("/readyz once the space is back: %v", r)
	}
	acc := ts.uploadFile(acmeToken, "01-passive-vsftpd-curl-client.pcap")
	if c := ts.wait(acmeToken, acc.ID); c.Status != store.Done {
		t.Errorf("a capture uploaded once the space is back: %s", c.Status)
	}
}

// mountTmpfs mounts a tmpfs of size bytes for the test and unmounts it
// afterwards. It needs root; without, the test is skipped, except under
// CI=true.
func mountTmpfs(t *testing.T, size int64) string {
	t.Helper()
	why := ""
	if os.Geteuid() != 0 {
		why = "needs root to mount a tmpfs"
	}
	dir := t.TempDir()
	if why == "" {
		out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+strconv.FormatInt(size, 10), "ftpdiag-test", dir).CombinedOutput()
		if err != nil {
			why = "cannot mount a tmpfs: " + strings.TrimSpace(string(out))
		}
	}
	if why != "" {
		if os.Getenv("CI") == "true" {
			t.Fatal(why)
		}
		t.Skip(why)
	}
	t.Cleanup(func() {
		// The service stops first (cleanups run last in, first out).
		for range 50 {
			if exec.Command("umount", dir).Run() == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Errorf("could not unmount the tmpfs at %s", dir)
	})
	return dir
}

// fillDisk writes a file at path until dir's file system has about left
// bytes free.
func fillDisk(t *testing.T, dir, path string, left int64) {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	n := int64(st.Bavail)*int64(st.Bsize) - left
	if n <= 0 {
		t.Fatalf("only %d bytes free on %s", int64(st.Bavail)*int64(st.Bsize), dir)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 1<<20)
	for n > 0 {
		w := min(n, int64(len(chunk)))
		if _, err := f.Write(chunk[:w]); err != nil {
			t.Fatal(err)
		}
		n -= w
	}
}
