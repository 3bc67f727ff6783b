#!/usr/bin/env bash
# Peak resident memory of ftpdiag on captures built to stress its tables:
# one million one-packet connections (a SYN flood), and 100,000 complete
# connections of 10 KB each (about 1 GiB). Bounds from the README: under
# 400 MB and under 200 MB. Usage: bench/memory.sh [DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-/tmp/ftpdiag-bench}
mkdir -p "$dir"
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/ftpdiag" ./cmd/ftpdiag
go build -o "$bin/connflood" ./bench/connflood
[ -f "$dir/synflood-1M.pcap" ] || "$bin/connflood" -n 1000000 -o "$dir/synflood-1M.pcap"
[ -f "$dir/conns-100k.pcap" ] || "$bin/connflood" -n 100000 -payload 10000 -o "$dir/conns-100k.pcap"
fail=0
check() { # name file limit-MiB
	local rss
	rss=$( { /usr/bin/time -f '%M' "$bin/ftpdiag" --format json --fail-on never "$2" >/dev/null; } 2>&1 | tail -1)
	printf '%-32s %8s KiB peak RSS (limit %d MiB)\n' "$1" "$rss" "$3"
	if [ "$rss" -gt $(( $3 * 1024 )) ]; then fail=1; fi
}
check "1,000,000 one-SYN connections" "$dir/synflood-1M.pcap" 400
check "100,000 connections, ~1 GiB" "$dir/conns-100k.pcap" 200
exit $fail
