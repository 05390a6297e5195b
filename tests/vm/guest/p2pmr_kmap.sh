#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# An export's kernel mapping (the ioremap its first vmap makes) outlives
# the vmap, so that an importer vmapping per registration (soft-RoCE)
# does not ioremap and iounmap the whole dma-buf each time, and goes when
# the export is released or revoked, so that nothing of it stays on a
# BAR a driver may take next.  Seen in x86's PAT memtype list, where each
# ioremap reserves its range: the exports here are made by fd and never
# mapped by the CPU, so every entry for their range is the ioremap's.
. "$(dirname "$0")/lib.sh"

p2pmr_load
importer_load
nic=$(pci_nic)
near=$(pci_near_ivshmem)
ctl=$P2PMR_IMPORTER_CTL
res=/sys/bus/pci/devices/$near/resource2
pat=/sys/kernel/debug/x86/pat_memtype_list

[ -r $pat ] || p2pmr_skip "no $pat (CONFIG_X86_PAT and debugfs)"
grep -qw pat /proc/cpuinfo || p2pmr_skip "the guest CPU has no PAT"
bar=$(sed -n 3p "/sys/bus/pci/devices/$near/resource" | cut -d' ' -f1)
# the exported range: 1 MiB at BAR offset 1 MiB
lo=$(printf '%016x' $((bar + 0x100000)))
hi=$(printf '%016x' $((bar + 0x200000)))

# entries of the PAT list for exactly the exported range
kmaps() {
	grep -c "\[mem 0x$lo-0x$hi\]" $pat
}

[ "$(kmaps)" = 0 ] || p2pmr_fail "the range is reserved before any export: $(grep "0x$lo" $pat)"

# hold_vmapped: a holder of the export by fd, which the importer attaches,
# maps, vmaps and vunmaps in slot 0; commands on fd 3.
hold_vmapped() {
	importer_holder "$res" \
		"echo \"attach 0 \$P2PMR_DMABUF_FD $nic\" >$ctl &&
		 echo 'map 0' >$ctl && echo 'vmap 0' >$ctl &&
		 echo 'vunmap 0' >$ctl" --no-mmap
}

end_holder() {
	exec 3>&-
	wait $holder
	echo reset >$ctl
}

# 1: kept after the vunmap, gone with the export
hold_vmapped
[ "$(kmaps)" = 1 ] ||
	p2pmr_fail "after vmap and vunmap the range has $(kmaps) PAT entries, not the export's 1"
echo "ok - the kernel mapping outlives the vmap"
end_holder
[ "$(kmaps)" = 0 ] ||
	p2pmr_fail "the released export left $(kmaps) PAT entries"
p2pmr_expect_idle
echo "ok - and goes with the export"

# 2: gone with the revocation, while the export itself lives on
hold_vmapped
[ "$(kmaps)" = 1 ] || p2pmr_fail "second export: $(kmaps) PAT entries"
echo 1 >"/sys/bus/pci/devices/$near/remove" || p2pmr_fail "remove failed"
[ "$(p2pmr_counter revoked)" = 1 ] || p2pmr_fail "the export was not revoked"
[ "$(kmaps)" = 0 ] ||
	p2pmr_fail "the revoked export, still open, left $(kmaps) PAT entries on the BAR"
echo "ok - revocation drops the kernel mapping while the export is still open"
end_holder
p2pmr_expect_idle
echo 1 >/sys/bus/pci/rescan
wait_for 10 test -e "$res" || p2pmr_fail "rescan did not bring $near back"
echo "ok - counters back to zero"
