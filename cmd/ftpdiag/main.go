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
// environment sets one. The analysis keeps little (a few MiB) and
// allocates little, so collecting at half the default growth costs about
// 2% of the time and keeps resident memory nearly the same for a small
// capture and a large one (bench/README.md).
const gcPercent = 50

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
