#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Bytes written through mmap() of p2pmr dma-bufs in the guest are in the
# host files behind the ivshmem BARs, exactly where the export said, and
# nowhere else.
. "$(dirname "$0")/../lib/host.sh"

new_run_dir
vm_boot -- "$GUEST_DIR/p2pmr_export_data.sh"
[ "$VM_RC" -eq 0 ] || fail "guest side failed (status $VM_RC)"
host_check near 0x100000 0x100000 11
host_check near 0x300000 0x100000 12
host_check far 0x40000 0x40000 13
"$PATTERN" check-zero "$RUN_DIR/ivshmem-near.mem" 0 0x100000 ||
	fail "the near BAR changed below the exported ranges"
"$PATTERN" check-zero "$RUN_DIR/ivshmem-near.mem" 0x200000 0x100000 ||
	fail "the near BAR changed between the exported ranges"
"$PATTERN" check-zero "$RUN_DIR/ivshmem-far.mem" 0x80000 0x100000 ||
	fail "the far BAR changed past the exported range"
echo "p2pmr_export_data ok"
