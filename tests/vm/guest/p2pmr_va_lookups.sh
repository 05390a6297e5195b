#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# EXPORT_VA proves a range with a fixed amount of work, however long it
# is (p2pmr_check_span(): the vma's file and offsets, and the first and
# last page table entry of each piece).  A kprobe counts the page table
# look-ups (follow_pte() or follow_pfnmap_start()) of a whole process
# that maps, exports and unmaps (munmap() of a PAT-tracked PFN mapping
# looks one up too): one that exports the whole near BAR (vm-run
# --near-bar-size 1024: 262144 pages) must make at most one more than one
# that exports one page (the range's last page is looked up too), where a
# walk of every entry made one per page.  Needs kprobe events (Debian's
# kernels; the debug kernel has none).
. "$(dirname "$0")/lib.sh"

probe=p2pmr_va_walk

p2pmr_load
near=$(pci_near_ivshmem)
res=/sys/bus/pci/devices/$near/resource2
size=$(pci_bar_size "$near" 2)
pages=$((size / 4096))
[ "$pages" -ge 262144 ] ||
	p2pmr_fail "near BAR is $size bytes; run with vm-run --near-bar-size 1024"

fn=
for candidate in follow_pfnmap_start follow_pte; do
	grep -qw "$candidate" /proc/kallsyms && { fn=$candidate; break; }
done
[ -n "$fn" ] ||
	p2pmr_fail "neither follow_pfnmap_start nor follow_pte in /proc/kallsyms"
kprobe_count $probe $fn ||
	p2pmr_skip "this kernel has no kprobe events (CONFIG_KPROBE_EVENTS)"
p2pmr_log "kprobe on $fn; near BAR $near: $pages pages"

hits() {
	kprobe_hits $probe
}

tool=$P2PMR_BUILD_DIR/tests/guest/p2pmr_uapi_test

# look-ups made by an EXPORT_VA of [0, $1) of the near BAR
lookups() {
	local before out

	before=$(hits)
	out=$("$tool" hold --by-va --no-mmap "$res" 0 "$1" </dev/null) ||
		p2pmr_fail "EXPORT_VA of $1 bytes failed: $out"
	echo $(($(hits) - before))
}

one=$(lookups 4096)
whole=$(lookups "$size")
p2pmr_expect_idle
[ "$one" -ge 1 ] ||
	p2pmr_fail "the probe on $fn counted no look-up for a one-page export: it does not see the check"
[ "$whole" -le $((one + 1)) ] ||
	p2pmr_fail "EXPORT_VA of $pages pages made $whole look-ups, of one page $one: more than the last page's one more"
echo "ok - EXPORT_VA of 1 page and of $pages pages: $one and $whole page table look-ups"
echo "ok - counters back to zero"
