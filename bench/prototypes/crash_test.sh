#!/bin/bash
# crash_test.sh - SIGKILL the FUSE server while a program writes 4 KiB blocks
# through the mount; check whether the writer saw an error and whether every
# byte reached the backing file. Each scenario holds the shared benchmark lock
# (they do a lot of disk I/O). Needs root and kernel 6.9+ (FUSE_NOTIFY_RESEND).
#
#   bench/prototypes/crash_test.sh            all scenarios
#   env: WORK_PARENT (/var/tmp)
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
LOCK=/tmp/recsync-bench.lock
W=$(mktemp -d "${WORK_PARENT:-/var/tmp}/fuseproto-crash.XXXXXX")
cleanup() {
	mountpoint -q "$W/mnt" 2>/dev/null && umount -l "$W/mnt"
	rm -rf "$W"
}
trap cleanup EXIT
make -s -C "$HERE" OUT="$W/bin" all || exit 1
mkdir -p "$W/back" "$W/mnt" "$W/state"
B=$W/bin
cd "$W" || exit 1

reset() { rm -rf "${W:?}"/state/* "${W:?}"/back/*; }
wait_mounted() { for _ in $(seq 100); do mountpoint -q mnt && return 0; sleep 0.05; done; return 1; }
server_of() { pgrep -P "$1" | head -1; }
finish() { # supervisor pid
	umount mnt 2>/dev/null || umount -l mnt
	wait "$1" 2>/dev/null
	grep -v " pid " sup.log | sed 's/^/    /'
}

s1() {
	echo "== 1. no supervisor: rawfs alone, SIGKILLed while the writer runs"
	reset
	$B/rawfs back mnt 2>/dev/null &
	local p=$!
	wait_mounted
	$B/writer mnt/rec.raw 131072 4096 --fsync > writer.out 2>&1 &
	local w=$!
	sleep 0.3
	kill -9 $p
	wait $w
	sed 's/^/    /' writer.out
	umount -l mnt
	wait $p 2>/dev/null
}

s2() { # $1 = rawfs options, $2 = writer blocks, $3 = label
	echo "== $3"
	reset
	$B/supervisor back mnt state $B/rawfs $1 2> sup.log &
	local s=$!
	wait_mounted
	$B/writer mnt/rec.raw "$2" 4096 --fsync 2>&1 | sed 's/^/    /'
	$B/writer --verify back/rec.raw "$2" 4096 | sed 's/^/    /'
	finish $s
}

s3() {
	echo "== 3. supervisor + rawfs, WRITE in flight, the new server does NOT send RESEND for 5 s"
	reset
	touch noresend
	$B/supervisor back mnt state $B/rawfs --crash-on-write 20000 --no-resend-if "$W/noresend" 2> sup.log &
	local s=$!
	wait_mounted
	$B/writer mnt/rec.raw 65536 4096 --fsync > writer.out 2>&1 &
	local w=$!
	sleep 5
	echo "    after 5 s the writer is in state $(awk '{print $3}' /proc/$w/stat), waiting in $(cat /proc/$w/wchan)"
	rm noresend
	kill -9 "$(server_of $s)"
	echo "    killed the resumed server; the next one sends RESEND"
	wait $w
	sed 's/^/    /' writer.out
	$B/writer --verify back/rec.raw 65536 4096 | sed 's/^/    /'
	finish $s
}

s4() { # $1 = server binary + options, $2 = label
	echo "== $2"
	reset
	$B/supervisor --restart-delay-ms 300 back mnt state $1 2> sup.log &
	local s=$!
	wait_mounted
	$B/writer mnt/rec.raw 131072 4096 --fsync > writer.out 2>&1 &
	local w=$!
	for _ in 1 2 3 4 5; do
		sleep 0.4
		kill -9 "$(server_of $s)" 2>/dev/null
	done
	wait $w
	sed 's/^/    /' writer.out
	$B/writer --verify back/rec.raw 131072 4096 | sed 's/^/    /'
	echo "    server instances killed: $(grep -c died sup.log)"
	finish $s
}

s6() {
	echo "== 6. writeback cache, server dead for 3 s while the writer writes (no fsync until the end)"
	reset
	$B/supervisor --restart-delay-ms 3000 back mnt state $B/rawfs --writeback 2> sup.log &
	local s=$!
	wait_mounted
	$B/writer mnt/rec.raw 65536 4096 --fsync --pause 2 > writer.out 2>&1 &
	local w=$!
	sleep 0.15
	kill -9 "$(server_of $s)"
	sleep 1.5
	local told=$(awk '/wchar/{print $2}' /proc/$w/io) have=$(stat -c %s back/rec.raw)
	echo "    1.5 s into the outage: write() had returned $((told / 1048576)) MiB, backing file has $((have / 1048576)) MiB, writer waits in $(cat /proc/$w/wchan)"
	wait $w
	sed 's/^/    /' writer.out
	$B/writer --verify back/rec.raw 65536 4096 | sed 's/^/    /'
	finish $s
}

s7() { # $1 = ll314_tricks options, $2 = blocks, $3 = label
	echo "== $3"
	reset
	$B/supervisor back mnt state $B/ll314_tricks $1 2> sup.log &
	local s=$!
	wait_mounted
	$B/writer mnt/rec.raw "$2" 4096 --fsync 2>&1 | sed 's/^/    /'
	$B/writer --verify back/rec.raw "$2" 4096 | sed 's/^/    /'
	finish $s
}

for f in \
	"s1" \
	"s2 '--crash-on-write 20000' 65536 '2. supervisor + rawfs, server dies holding an unanswered WRITE'" \
	"s3" \
	"s4 '$B/rawfs' '4. supervisor + rawfs, 5 SIGKILLs 0.4 s apart, 300 ms restart delay'" \
	"s2 '--writeback --crash-on-write 100' 262144 '5. supervisor + rawfs --writeback, dies holding an unanswered WRITE (1 GiB)'" \
	"s6" \
	"s7 '--crash-on-write 300' 65536 '7a. supervisor + ll314_tricks (libfuse 3.14), dies holding an unanswered WRITE'" \
	"s7 '--writeback --crash-on-write 100' 65536 '7b. supervisor + ll314_tricks --writeback, dies holding an unanswered WRITE'" \
	"s4 '$B/ll314_tricks --writeback' '7c. supervisor + ll314_tricks --writeback, 5 SIGKILLs'"; do
	exec 9>"$LOCK"
	flock 9
	eval "$f"
	flock -u 9
done
