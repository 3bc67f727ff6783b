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
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
