#!/usr/bin/env bash
# compare.sh: time ftpdiag against cat and tshark on the same generated
# capture, and report wall time, throughput and peak memory.
#
# Usage: bench/compare.sh [SIZE...]        (default: 1GiB)
#   bench/compare.sh 50MB 1GiB             one table per size: memory should stay flat
#
# Environment:
#   BENCH_DIR      where captures are cached (default /tmp/ftpdiag-bench); a
#                  capture is generated once per seed, size and format, and
#                  reused: the generator is deterministic
#   SEED           generator seed (default 1)
#   FORMAT         pcap or pcapng (default pcap)
#   RUNS           hyperfine runs per command (default 3)
#   FTPDIAG_FLAGS  extra ftpdiag flags, e.g. "--threads 2"
#   SKIP_TSHARK=1  leave tshark out (it takes minutes and GiBs at 1 GiB)
#
# Needs go, and /usr/bin/time (Debian package "time") for peak RSS.
# Uses hyperfine (Debian package "hyperfine") for mean and spread when
# present; without it each command runs once under /usr/bin/time.
set -euo pipefail
cd "$(dirname "$0")/.."

BENCH_DIR=${BENCH_DIR:-/tmp/ftpdiag-bench}
SEED=${SEED:-1}
FORMAT=${FORMAT:-pcap}
RUNS=${RUNS:-3}
FTPDIAG_FLAGS=${FTPDIAG_FLAGS:-}
SKIP_TSHARK=${SKIP_TSHARK:-}
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1GiB)

have() { command -v "$1" >/dev/null 2>&1; }
timebin=/usr/bin/time
[ -x "$timebin" ] || timebin=
have hyperfine && hyperfine=1 || hyperfine=
if [ -z "$SKIP_TSHARK" ] && ! have tshark; then
	echo "compare.sh: tshark not found; leaving it out" >&2
	SKIP_TSHARK=1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$BENCH_DIR"
echo "building ftpdiag and ftpdiag-gen into $tmp" >&2
go build -o "$tmp/ftpdiag" ./cmd/ftpdiag
go build -o "$tmp/ftpdiag-gen" ./cmd/ftpdiag-gen

# measure NAME CMD...: runs CMD with stdout to /dev/null; sets wall (s),
# spread (s), rss (MiB) and rc.
measure() {
	local name=$1
	shift
	rc=0
	rss=n/a
	if [ -n "$timebin" ]; then
		"$timebin" -v -o "$tmp/time.txt" "$@" >/dev/null 2>"$tmp/$name.err" || rc=$?
		rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.1f", $2/1024}' "$tmp/time.txt")
		wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2, p, ":"); s=0; for (i=1; i<=n; i++) s=s*60+p[i]; printf "%.3f", s}' "$tmp/time.txt")
	else
		local t0 t1
		t0=$(date +%s.%N)
		"$@" >/dev/null 2>"$tmp/$name.err" || rc=$?
		t1=$(date +%s.%N)
		wall=$(echo "$t0 $t1" | awk '{printf "%.3f", $2-$1}')
	fi
	spread=-
	if [ -n "$hyperfine" ]; then
		local cmd
		cmd=$(printf '%q ' "$@")
		hyperfine --ignore-failure --style none --runs "$RUNS" --export-csv "$tmp/h.csv" "$cmd" >/dev/null 2>&1
		# command,mean,stddev,median,user,system,min,max
		wall=$(awk -F, 'NR==2 {printf "%.3f", $2}' "$tmp/h.csv")
		spread=$(awk -F, 'NR==2 {printf "%.3f", $3}' "$tmp/h.csv")
	fi
}

for size in "${sizes[@]}"; do
	f="$BENCH_DIR/ftpdiag-bench-seed$SEED-$size.$FORMAT"
	if [ ! -s "$f" ]; then
		echo "generating $f" >&2
		"$tmp/ftpdiag-gen" --seed "$SEED" --size "$size" --format "$FORMAT" -o "$f.part" --stats json 2>"$f.stats.json"
		mv "$f.part" "$f"
	fi
	bytes=$(stat -c %s "$f")
	mb=$(echo "$bytes" | awk '{printf "%.1f", $1/1e6}')
	echo >&2 "timing on $f ($mb MB)"

	names=() walls=() spreads=() rsss=() rcs=()
	add() { names+=("$1"); walls+=("$wall"); spreads+=("$spread"); rsss+=("$rss"); rcs+=("$rc"); }
	cat "$f" >/dev/null # into the page cache: every tool reads from memory
	measure cat cat "$f"
	add cat
	# shellcheck disable=SC2086 # FTPDIAG_FLAGS is split on purpose
	measure ftpdiag "$tmp/ftpdiag" --format json $FTPDIAG_FLAGS "$f"
	add ftpdiag
	if [ -z "$SKIP_TSHARK" ]; then
		measure tshark tshark -r "$f" -T fields -e ftp.passive.ip -e ftp.passive.port \
			-e ftp.active.cip -e ftp.active.port -e ftp.eprt.ip -e ftp.eprt.port -e ftp.epsv.port
		add tshark
	fi

	echo
	echo "== $size: $f"
	echo "   $bytes bytes, seed $SEED, $FORMAT; $(nproc) CPUs ($(lscpu | sed -n 's/^Model name: *//p' | head -1)); $(date -u +%Y-%m-%dT%H:%MZ)"
	if [ -n "$hyperfine" ]; then
		echo "   wall: mean of $RUNS hyperfine runs (± stddev); peak RSS: one run under /usr/bin/time -v"
	else
		echo "   wall and peak RSS: one run under /usr/bin/time -v (hyperfine not installed)"
	fi
	[ -z "$FTPDIAG_FLAGS" ] || echo "   ftpdiag flags: $FTPDIAG_FLAGS"
	printf '   %-9s %9s %8s %10s %13s %5s\n' tool "wall s" "±" "MB/s" "peak RSS MiB" exit
	for i in "${!names[@]}"; do
		rate=$(echo "$bytes ${walls[$i]}" | awk '{ if ($2 > 0) printf "%.0f", $1/1e6/$2; else print "-" }')
		printf '   %-9s %9s %8s %10s %13s %5s\n' "${names[$i]}" "${walls[$i]}" "${spreads[$i]}" "$rate" "${rsss[$i]}" "${rcs[$i]}"
	done
	ratio() { echo "$1 $2" | awk '{ if ($2 > 0) printf "%.1fx", $1/$2; else print "-" }'; }
	line="   ftpdiag/cat wall $(ratio "${walls[1]}" "${walls[0]}")"
	if [ -z "$SKIP_TSHARK" ]; then
		line="$line; tshark/ftpdiag wall $(ratio "${walls[2]}" "${walls[1]}")"
		[ "${rsss[1]}" = n/a ] || line="$line, peak RSS $(ratio "${rsss[2]}" "${rsss[1]}")"
	fi
	echo "$line"
	for i in "${!names[@]}"; do
		# ftpdiag exits 1 when it finds errors, which the capture is made to hold.
		if [ "${rcs[$i]}" != 0 ] && [ -s "$tmp/${names[$i]}.err" ]; then
			echo "   ${names[$i]} stderr (last lines):"
			tail -n 3 "$tmp/${names[$i]}.err" | grep -v '^Running as user' | sed 's/^/     /'
		fi
	done
done
