#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# EXPORT_VA checks every page table entry of the range under the mmap
# lock; a process killed during that walk must stop there, not after the
# whole BAR.  A kprobe counts the page table look-ups (follow_pte() or
# follow_pfnmap_start(), one per page): an uninterrupted export of the
# near BAR (vm-run --near-bar-size 1024: 262144 pages) makes at least one
# per page; a process SIGKILLed as soon as its walk has begun must make
# fewer, and leave every p2pmr counter at zero.  Needs kprobe events
# (Debian's kernels; the debug kernel has none).
. "$(dirname "$0")/lib.sh"

tracing=/sys/kernel/tracing
probe=p2pmr_va_walk

p2pmr_load
near=$(pci_near_ivshmem)
res=/sys/bus/pci/devices/$near/resource2
size=$(pci_bar_size "$near" 2)
pages=$((size / 4096))
[ "$pages" -ge 262144 ] ||
	p2pmr_fail "near BAR is $size bytes; run with vm-run --near-bar-size 1024"

[ -e $tracing/kprobe_events ] ||
	mount -t tracefs nodev $tracing 2>/dev/null
[ -w $tracing/kprobe_events ] ||
	p2pmr_skip "this kernel has no kprobe events (CONFIG_KPROBE_EVENTS)"
fn=
for candidate in follow_pfnmap_start follow_pte; do
	grep -qw "$candidate" /proc/kallsyms && { fn=$candidate; break; }
done
[ -n "$fn" ] ||
	p2pmr_fail "neither follow_pfnmap_start nor follow_pte in /proc/kallsyms"
echo "p:$probe $fn" >>$tracing/kprobe_events ||
	p2pmr_fail "cannot place a kprobe on $fn"
# Count hits without filling the trace buffer.
echo 0 >$tracing/tracing_on
echo 1 >$tracing/events/kprobes/$probe/enable
p2pmr_log "kprobe on $fn; near BAR $near: $pages pages"

hits() {
	local name n rest

	while read -r name n rest; do
		[ "$name" = $probe ] && echo "$n" && return
	done <$tracing/kprobe_profile
}

tool=$P2PMR_BUILD_DIR/tests/guest/p2pmr_uapi_test

# Uninterrupted: the probe sees the walk, a look-up per page.
before=$(hits)
"$tool" hold --by-va --no-mmap "$res" 0 "$size" </dev/null >/tmp/whole.out ||
	p2pmr_fail "EXPORT_VA of the whole BAR failed: $(cat /tmp/whole.out)"
walked=$(($(hits) - before))
[ "$walked" -ge "$pages" ] ||
	p2pmr_fail "the probe counted $walked look-ups for $pages pages"
echo "ok - an uninterrupted EXPORT_VA of $pages pages: $walked look-ups"
p2pmr_expect_idle

# Killed once the walk has begun.
before=$(hits)
"$tool" hold --by-va --no-mmap "$res" 0 "$size" </dev/null >/tmp/killed.out &
pid=$!
while [ "$(hits)" -eq "$before" ] && kill -0 $pid 2>/dev/null; do
	:
done
kill -KILL $pid 2>/dev/null
status=0
wait $pid || status=$?
walked=$(($(hits) - before))
grep -q '^READY' /tmp/killed.out &&
	p2pmr_fail "the export finished before SIGKILL landed ($walked look-ups): nothing was tested"
[ "$status" -eq 137 ] ||
	p2pmr_fail "the exporting process exited with $status, not by SIGKILL"
[ "$walked" -lt "$pages" ] ||
	p2pmr_fail "after SIGKILL the walk went on over all $pages pages ($walked look-ups)"
echo "ok - SIGKILL stops EXPORT_VA's walk: $walked of $pages look-ups"
p2pmr_expect_idle
echo "ok - counters back to zero"

echo 0 >$tracing/events/kprobes/$probe/enable
echo "-:$probe" >>$tracing/kprobe_events
echo "p2pmr EXPORT_VA kill ok"
