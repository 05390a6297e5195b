#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Data written through the guest's mmap of an ivshmem BAR lands in the host
# file behind it, and what the host writes there is what the guest reads:
# the testbed's stand-in for device memory is real shared memory.
. "$(dirname "$0")/../lib/host.sh"

new_run_dir
len=$((1 << 20))
host_fill near 0x100000 $len 1
host_fill far 0x100000 $len 1
vm_boot -- bash -c "$GUEST_DIR/bar_mmap.sh near 0x100000 0x800000 $len &&
		    $GUEST_DIR/bar_mmap.sh far 0x100000 0x800000 $len"
[ "$VM_RC" -eq 0 ] || fail "guest side failed (status $VM_RC)"
for which in near far; do
	host_check "$which" 0x800000 $len 2
	host_check "$which" $((0x800000 + len)) $len 3
done
# The guest's writes stayed inside their range.
for which in near far; do
	"$PATTERN" check-zero "$RUN_DIR/ivshmem-$which.mem" 0x700000 0x100000 ||
		fail "bytes before the written range of the $which BAR changed"
	"$PATTERN" check-zero "$RUN_DIR/ivshmem-$which.mem" \
		$((0x800000 + 2 * len)) 0x100000 ||
		fail "bytes after the written range of the $which BAR changed"
done
echo "bar_mmap ok"
