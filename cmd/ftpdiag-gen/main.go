// Command ftpdiag-gen writes large, realistic packet captures for
// benchmarking ftpdiag: mostly HTTPS-like, DNS, ICMP and ARP traffic, with
// FTP sessions whose data connections succeed or fail in every way ftpdiag
// diagnoses. The same seed, size and format give the same bytes.
//
// Usage:
//
//	ftpdiag-gen [flags] -o FILE
//
// For example:
//
//	ftpdiag-gen --seed 1 --size 1GiB --format pcap -o /tmp/big.pcap
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/pflag"

	"ftpdiag/internal/gen"
)

const usageText = `Usage: ftpdiag-gen [flags] -o FILE

Writes a capture of about --size bytes (before --gzip), deterministically:
the same --seed, --size, --format and --concurrency give the same bytes.
Sizes take SI (50MB) or IEC (1GiB) suffixes; K, M, G mean KiB, MiB, GiB.
"-o -" writes to standard output. A summary goes to standard error.

Flags:
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run parses args, writes the capture and returns the exit status: 0, 1 on
// a write error, 2 on bad usage.
func run(args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("ftpdiag-gen", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	seed := fs.Uint64("seed", 1, "seed: another seed gives another capture")
	size := fs.String("size", "50MB", "target capture size")
	format := fs.String("format", "pcap", `file format: "pcap" or "pcapng"`)
	gz := fs.Bool("gzip", false, "compress the output with gzip")
	out := fs.StringP("output", "o", "", `output file ("-" for standard output)`)
	conc := fs.Int("concurrency", gen.DefaultConcurrency, "flows open at once")
	ftpShare := fs.Float64("ftp-share", gen.DefaultFTPShare, "share of packets in FTP sessions")
	stats := fs.String("stats", "text", `summary on standard error: "text", "json" or "none"`)
	fs.Usage = func() {
		fmt.Fprint(stderr, usageText)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "ftpdiag-gen:", err)
		return 2
	}
	cfg := gen.Config{Seed: *seed, Gzip: *gz, Concurrency: *conc, FTPShare: *ftpShare}
	var err error
	switch {
	case fs.NArg() > 0:
		err = fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case *out == "":
		err = errors.New("no output file: give -o FILE or -o -")
	case *stats != "text" && *stats != "json" && *stats != "none":
		err = fmt.Errorf("--stats %q: want text, json or none", *stats)
	}
	if err == nil {
		cfg.Size, err = gen.ParseSize(*size)
	}
	if err == nil {
		cfg.Format, err = gen.ParseFormat(*format)
	}
	if err == nil {
		err = cfg.Validate()
	}
	if err != nil {
		fmt.Fprintln(stderr, "ftpdiag-gen:", err)
		return 2
	}
	w := stdout
	var f *os.File
	if *out != "-" {
		if f, err = os.Create(*out); err != nil {
			fmt.Fprintln(stderr, "ftpdiag-gen:", err)
			return 1
		}
		w = f
	}
	begin := time.Now()
	st, err := gen.Write(w, cfg)
	if f != nil {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	elapsed := time.Since(begin)
	if err != nil {
		fmt.Fprintf(stderr, "ftpdiag-gen: %s: %v\n", *out, err)
		return 1
	}
	switch *stats {
	case "json":
		enc := json.NewEncoder(stderr)
		enc.SetIndent("", "  ")
		if err := enc.Encode(st); err != nil {
			fmt.Fprintln(stderr, "ftpdiag-gen:", err)
			return 1
		}
	case "text":
		writeSummary(stderr, &st, elapsed)
	}
	return 0
}

// writeSummary prints what was generated and how fast.
func writeSummary(w io.Writer, st *gen.Stats, elapsed time.Duration) {
	fmt.Fprintf(w, "wrote %d packets, %d bytes in %v (%.0f MB/s)",
		st.Packets, st.Bytes, elapsed.Round(time.Millisecond), float64(st.Bytes)/1e6/elapsed.Seconds())
	if st.Compressed > 0 {
		fmt.Fprintf(w, ", %d bytes compressed", st.Compressed)
	}
	fmt.Fprintf(w, "\ncapture time %s to %s (%v)\n", st.First.Format(time.RFC3339), st.Last.Format(time.RFC3339), st.Last.Sub(st.First).Round(time.Millisecond))
	fmt.Fprintf(w, "flows %d, TCP connections %d (%d IPv6), at most %d flows open, IPv6 packets %d\n",
		st.Flows, st.TCPConns, st.IPv6Conns, st.MaxOpen, st.IPv6Packets)
	fmt.Fprint(w, "packets:")
	for c := range gen.Class(gen.NumClasses) {
		fmt.Fprintf(w, " %s %d (%.1f%%)", c, st.ByClass[c], 100*float64(st.ByClass[c])/float64(max(st.Packets, 1)))
	}
	fmt.Fprintf(w, "\nFTP sessions %d, transfers %d\n  by outcome:", st.Sessions, st.TotalTransfers())
	for o := range gen.Outcome(gen.NumOutcomes) {
		fmt.Fprintf(w, " %s %d", o, st.Transfers[o])
	}
	fmt.Fprint(w, "\n  by mode:")
	for m := range gen.Mode(gen.NumModes) {
		fmt.Fprintf(w, " %s %d", m, st.Modes[m])
	}
	fmt.Fprint(w, "\n  by fault:")
	for f := range gen.Fault(gen.NumFaults) {
		fmt.Fprintf(w, " %s %d", f, st.Faults[f])
	}
	fmt.Fprintln(w)
}
