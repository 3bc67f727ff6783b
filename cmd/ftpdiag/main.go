// Command ftpdiag reads packet captures and explains, with evidence, why
// FTP data connections failed.
//
// Usage:
//
//	ftpdiag [flags] FILE...
//
// See README.md for the flags, the JSON schema and the exit codes.
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime/debug"
)

// gcPercent is the garbage collector's target (GOGC) unless the
// environment sets one. The JSON path keeps a few MiB live and allocates
// about 30 MB per GiB of capture; collecting when the heap has grown by a
// quarter (the default lets it double) keeps resident memory nearly the
// same for a small capture and a large one, for about 8% of the time
// (bench/README.md).
const gcPercent = 25

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
