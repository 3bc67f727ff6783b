#!/usr/bin/env bash
# Peak resident memory of ftpdiag on captures built to stress its tables:
# one million one-packet connections (a SYN flood), and 100,000 complete
# connections of 10 KB each (about 1 GiB). Bounds from the README: under
# 400 MB and under 200 MB. Then the usual mix (ftpdiag-gen, seed 1) at
# 50 MB and 4 GiB, with --threads 1 and 2: at most 64 MiB each, and flat
# (the 4 GiB figure within 12 MiB of the 50 MB one: what still grows, TIME-WAIT and passive-announcement records and the collector's headroom over them, is listed in bench/README.md). Usage: bench/memory.sh [DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-/tmp/ftpdiag-bench}
mkdir -p "$dir"
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/ftpdiag" ./cmd/ftpdiag
go build -o "$bin/connflood" ./bench/connflood
go build -o "$bin/ftpdiag-gen" ./cmd/ftpdiag-gen
[ -f "$dir/synflood-1M.pcap" ] || "$bin/connflood" -n 1000000 -o "$dir/synflood-1M.pcap"
[ -f "$dir/conns-100k.pcap" ] || "$bin/connflood" -n 100000 -payload 10000 -o "$dir/conns-100k.pcap"
fail=0
for size in 50MB 4GiB; do
	f="$dir/ftpdiag-bench-seed1-$size.pcap"
	[ -s "$f" ] || "$bin/ftpdiag-gen" --seed 1 --size "$size" --format pcap -o "$f" --stats none
done
check() { # name file limit-MiB [ftpdiag flags...]
	local rss
	rss=$( { /usr/bin/time -f '%M' "$bin/ftpdiag" --format json --fail-on never "${@:4}" "$2" >/dev/null; } 2>&1 | tail -1)
	last=$rss
	printf '%-32s %8s KiB peak RSS (limit %d MiB)\n' "$1" "$rss" "$3"
	if [ "$rss" -gt $(( $3 * 1024 )) ]; then fail=1; fi
}
check "1,000,000 one-SYN connections" "$dir/synflood-1M.pcap" 400
check "100,000 connections, ~1 GiB" "$dir/conns-100k.pcap" 200
for threads in 1 2; do
	check "mix 50 MB, --threads $threads" "$dir/ftpdiag-bench-seed1-50MB.pcap" 64 --threads "$threads"
	small=$last
	check "mix 4 GiB, --threads $threads" "$dir/ftpdiag-bench-seed1-4GiB.pcap" 64 --threads "$threads"
	if [ "$last" -gt $((small + 12 * 1024)) ]; then
		echo "  not flat: 4 GiB takes $(((last - small) / 1024)) MiB more than 50 MB (limit 12)"
		fail=1
	fi
done
exit $fail
