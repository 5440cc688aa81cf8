#!/bin/bash
# bench.sh - dd write throughput: native folder vs the FUSE prototypes vs
# libfuse 3.14's passthrough_ll example. Medians of ROUNDS runs, configs
# alternating within each round. Every dd runs under the shared benchmark lock.
#
#   bench/prototypes/bench.sh [CONFIG...]
#   CONFIGS: native ll ll_wb raw raw_pt raw_wb_sup   (default: all)
#   env: ROUNDS (3), WORK_PARENT (/var/tmp), SIZES ("1M 4k")
#
# Needs root, gcc, libfuse3-dev (for passthrough_ll only), kernel 6.9+ for raw_pt.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROUNDS=${ROUNDS:-3}
SIZES=${SIZES:-"1M 4k"}
LOCK=/tmp/recsync-bench.lock
CONFIGS=("$@")
[ ${#CONFIGS[@]} -eq 0 ] && CONFIGS=(native ll ll_wb raw raw_pt raw_wb_sup)

W=$(mktemp -d "${WORK_PARENT:-/var/tmp}/fuseproto-bench.XXXXXX")
SRV_PID=""
cleanup() {
	mountpoint -q "$W/mnt" 2>/dev/null && umount -l "$W/mnt" || true
	[ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$W"
}
trap cleanup EXIT
make -s -C "$HERE" OUT="$W/bin" "$W/bin/rawfs" "$W/bin/supervisor" "$W/bin/passthrough_ll"
mkdir -p "$W/native" "$W/back" "$W/mnt" "$W/state"

wait_mounted() { for _ in $(seq 100); do mountpoint -q "$W/mnt" && return 0; sleep 0.05; done; echo "mount failed" >&2; return 1; }

start() { # config -> sets DIR, the directory to write into (servers' output to the log)
	DIR="$W/mnt"
	if [ "$1" = native ]; then DIR="$W/native"; return; fi
	case $1 in
	ll) "$W/bin/passthrough_ll" -f -o source="$W/back" "$W/mnt" ;;
	ll_wb) "$W/bin/passthrough_ll" -f -o source="$W/back",writeback "$W/mnt" ;;
	raw) "$W/bin/rawfs" "$W/back" "$W/mnt" ;;
	raw_pt) "$W/bin/rawfs" --passthrough "$W/back" "$W/mnt" ;;
	raw_wb_sup) rm -rf "${W:?}/state"/*
		"$W/bin/supervisor" "$W/back" "$W/mnt" "$W/state" "$W/bin/rawfs" --writeback ;;
	esac >>"$W/servers.log" 2>&1 &
	SRV_PID=$!
	wait_mounted
}
stop() {
	[ -z "$SRV_PID" ] && return
	umount "$W/mnt"
	wait "$SRV_PID" 2>/dev/null || true
	SRV_PID=""
}

echo "config,bs,round,seconds,MBps" > "$W/results.csv"
for r in $(seq "$ROUNDS"); do
	for bs in $SIZES; do
		count=$([ "$bs" = 1M ] && echo 1024 || echo 262144)
		for c in "${CONFIGS[@]}"; do
			start "$c"
			dir=$DIR
			rm -f "$W/back/f" "$W/native/f"
			sync
			out=$(flock "$LOCK" dd if=/dev/zero of="$dir/f" bs="$bs" count="$count" conv=fsync 2>&1 | tail -1)
			stop
			rm -f "$W/back/f" "$W/native/f"
			secs=$(echo "$out" | awk -F', ' '{print $(NF-1)}' | awk '{print $1}')
			mbps=$(awk -v s="$secs" 'BEGIN{printf "%.0f", 1073.741824/s}')
			echo "$c,$bs,$r,$secs,$mbps" | tee -a "$W/results.csv"
		done
	done
done

echo
echo "median MB/s (1 GiB, conv=fsync), ratio to native"
for bs in $SIZES; do
	nat=$(awk -F, -v b="$bs" '$1=="native"&&$2==b{print $5}' "$W/results.csv" | sort -n | awk '{a[NR]=$1}END{print a[int((NR+1)/2)]}')
	for c in "${CONFIGS[@]}"; do
		runs=$(awk -F, -v c="$c" -v b="$bs" '$1==c&&$2==b{printf "%s ", $5}' "$W/results.csv")
		med=$(echo "$runs" | tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1}END{print a[int((NR+1)/2)]}')
		ratio=$([ -n "$nat" ] && awk -v m="$med" -v n="$nat" 'BEGIN{printf "%.2f", m/n}' || echo "-")
		echo "$bs $c median=$med ratio=$ratio runs=[$runs]"
	done
done
cp "$W/results.csv" "${RESULTS_OUT:-/dev/null}" 2>/dev/null || true
