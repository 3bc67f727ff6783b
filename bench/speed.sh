#!/usr/bin/env bash
# speed.sh: ftpdiag against the floor (../shared/yardstick -mode full, a
# plain Go loop doing only the unavoidable work) and tshark, on the same
# generated capture, in one run: the commands are alternated round by round
# (the machine's speed drifts, and other jobs share it) and medians quoted.
#
# Usage: bench/speed.sh [SIZE]              (default 1GiB)
#
# Environment:
#   BENCH_DIR    where the capture is cached (default /tmp/ftpdiag-bench;
#                the generator is deterministic, so a cached file is the
#                same file)
#   SEED         generator seed (default 1)
#   FORMAT       pcap or pcapng (default pcap)
#   RUNS         rounds (default 7); every command runs once per round
#   YARDSTICK    the yardstick's source directory (default ../shared/yardstick)
#   TSHARK_RUNS  tshark's runs (default 1: it takes a minute per GiB)
#   SKIP_TSHARK=1  leave tshark out
#
# Prints, per command: median wall time, median CPU (user+system), peak RSS
# (largest of the runs), from /usr/bin/time; then the ratios the issue sets
# targets for: ftpdiag --threads 1 over the yardstick (target <= 1.2) and
# --threads 1 over --threads 2 (target >= 1.5). Needs go and /usr/bin/time.
set -euo pipefail
cd "$(dirname "$0")/.."

size=${1:-1GiB}
BENCH_DIR=${BENCH_DIR:-/tmp/ftpdiag-bench}
SEED=${SEED:-1}
FORMAT=${FORMAT:-pcap}
RUNS=${RUNS:-7}
YARDSTICK=${YARDSTICK:-../shared/yardstick}
TSHARK_RUNS=${TSHARK_RUNS:-1}
SKIP_TSHARK=${SKIP_TSHARK:-}
[ -x /usr/bin/time ] || { echo "speed.sh: /usr/bin/time is needed (Debian package time)" >&2; exit 2; }
if [ -z "$SKIP_TSHARK" ] && ! command -v tshark >/dev/null 2>&1; then
	echo "speed.sh: tshark not found; leaving it out" >&2
	SKIP_TSHARK=1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "building ftpdiag, ftpdiag-gen and the yardstick into $tmp" >&2
go build -o "$tmp/ftpdiag" ./cmd/ftpdiag
go build -o "$tmp/ftpdiag-gen" ./cmd/ftpdiag-gen
have_yardstick=
if [ -d "$YARDSTICK" ]; then
	(cd "$YARDSTICK" && go build -o "$tmp/yardstick" .)
	have_yardstick=1
else
	echo "speed.sh: no yardstick at $YARDSTICK; leaving it out" >&2
fi

mkdir -p "$BENCH_DIR"
f="$BENCH_DIR/ftpdiag-bench-seed$SEED-$size.$FORMAT"
if [ ! -s "$f" ]; then
	echo "generating $f" >&2
	"$tmp/ftpdiag-gen" --seed "$SEED" --size "$size" --format "$FORMAT" -o "$f.part" --stats json 2>"$f.stats.json"
	mv "$f.part" "$f"
fi
cat "$f" >/dev/null # into the page cache: every command reads from memory

names=() cmds=()
add() { names+=("$1"); shift; cmds+=("$(printf '%q ' "$@")"); }
[ -z "$have_yardstick" ] || add yardstick "$tmp/yardstick" -mode full "$f"
add threads1 "$tmp/ftpdiag" --format json --fail-on never --threads 1 "$f"
add threads2 "$tmp/ftpdiag" --format json --fail-on never --threads 2 "$f"

# one NAME CMD: one run under /usr/bin/time, appended to $tmp/NAME.txt as
# "wall cpu maxrss-KiB".
one() {
	if ! /usr/bin/time -f '%e %U %S %M' -o "$tmp/t" bash -c "$2 >/dev/null 2>$tmp/$1.err"; then
		echo "speed.sh: $1 failed:" >&2
		tail -3 "$tmp/$1.err" >&2
		exit 1
	fi
	awk '{printf "%s %.2f %s\n", $1, $2+$3, $4}' "$tmp/t" >>"$tmp/$1.txt"
}

load0=$(cut -d' ' -f1-3 /proc/loadavg)
for ((r = 0; r < RUNS; r++)); do
	n=${#names[@]}
	for ((j = 0; j < n; j++)); do # rotate the order from round to round
		i=$(((j + r) % n))
		one "${names[$i]}" "${cmds[$i]}"
	done
done
if [ -z "$SKIP_TSHARK" ]; then
	names+=(tshark)
	for ((r = 0; r < TSHARK_RUNS; r++)); do
		one tshark "$(printf '%q ' tshark -r "$f" -T fields -e ftp.passive.ip -e ftp.passive.port \
			-e ftp.active.cip -e ftp.active.port -e ftp.eprt.ip -e ftp.eprt.port -e ftp.epsv.port)"
	done
fi
load1=$(cut -d' ' -f1-3 /proc/loadavg)

median() { sort -n | awk '{v[NR]=$1} END {if (NR%2) print v[(NR+1)/2]; else printf "%.3f\n", (v[NR/2]+v[NR/2+1])/2}'; }
echo
echo "== $f"
echo "   $(stat -c %s "$f") bytes, seed $SEED, $FORMAT; $(nproc) CPUs ($(lscpu | sed -n 's/^Model name: *//p' | head -1)); $(go version | cut -d' ' -f3); $(date -u +%Y-%m-%dT%H:%MZ)"
echo "   $RUNS alternated rounds (tshark: $TSHARK_RUNS); medians; load average before $load0, after $load1"
printf '   %-10s %8s %8s %8s %13s\n' command "wall s" "CPU s" "MB/s" "peak RSS MiB"
bytes=$(stat -c %s "$f")
declare -A wall
for name in "${names[@]}"; do
	w=$(cut -d' ' -f1 "$tmp/$name.txt" | median)
	c=$(cut -d' ' -f2 "$tmp/$name.txt" | median)
	m=$(cut -d' ' -f3 "$tmp/$name.txt" | sort -n | tail -1)
	wall[$name]=$w
	printf '   %-10s %8s %8s %8s %13s\n' "$name" "$w" "$c" \
		"$(awk -v b="$bytes" -v w="$w" 'BEGIN {if (w > 0) printf "%.0f", b/1e6/w; else print "-"}')" \
		"$(awk -v m="$m" 'BEGIN {printf "%.1f", m/1024}')"
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f", a/b; else print "-"}'; }
echo "   (commands: yardstick -mode full; ftpdiag --format json --threads 1 / --threads 2; tshark -T fields -e ftp.*)"
[ -z "$have_yardstick" ] || echo "   threads1/yardstick wall $(ratio "${wall[threads1]}" "${wall[yardstick]}") (target <= 1.2)"
echo "   threads1/threads2 wall $(ratio "${wall[threads1]}" "${wall[threads2]}") (target >= 1.5)"
[ -n "$SKIP_TSHARK" ] || echo "   tshark/threads2 wall $(ratio "${wall[tshark]}" "${wall[threads2]}")"
