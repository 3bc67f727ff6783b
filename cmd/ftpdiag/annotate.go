package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"ftpdiag/analyze"
	"ftpdiag/annotate"
	"ftpdiag/internal/version"
)

// annotateGroup writes the annotated capture of one group of files
// (--annotate FILE; with --each, one per input in directory FILE).
//
// It reports whether the capture was written.
func annotateGroup(ctx context.Context, cfg *config, files []string, a *analyze.Analysis, prefix string, stdin io.Reader, stderr io.Writer) bool {
	for _, f := range files {
		if f == "-" {
			fmt.Fprintln(stderr, "ftpdiag: --annotate reads the captures a second time, so it needs files, not standard input")
			return false
		}
	}
	path := cfg.annotate
	if cfg.each {
		path = filepath.Join(cfg.annotate, strings.TrimSuffix(prefix, "_")+".pcapng")
		if err := os.MkdirAll(cfg.annotate, 0o755); err != nil {
			fmt.Fprintln(stderr, "ftpdiag: --annotate:", err)
			return false
		}
	}
	out, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(stderr, "ftpdiag: --annotate:", err)
		return false
	}
	res, err := annotate.Write(ctx, inputsOf(files, stdin), a, out, annotate.Options{
		Lesson: cfg.lesson, ShowPasswords: cfg.showPasswords, Version: version.String(),
	})
	err = errors.Join(err, out.Close())
	if err != nil {
		printErrors(stderr, "--annotate: ", err)
		return false
	}
	fmt.Fprintf(stderr, "ftpdiag: wrote %s (%d packets, %d with comments)\n", printable(path), res.Packets, res.Commented)
	return true
}
