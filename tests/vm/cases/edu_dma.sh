#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A bus-master DMA engine (QEMU's edu) moves data through the addresses
# p2pmr hands a dynamic importer; the host files behind the BARs show
# exactly the intended bytes and nothing else (tests/vm/guest/edu_dma.sh
# says what the guest does).
. "$(dirname "$0")/../lib/host.sh"

new_run_dir
# What the near edu must read back through its mapping.
host_fill near 0x180000 0x3000 42
vm_boot --edu -- "$GUEST_DIR/edu_dma.sh"
[ "$VM_RC" -ne 77 ] || skip "the guest could not run the edu test"
[ "$VM_RC" -eq 0 ] || fail "guest side failed (status $VM_RC)"

# near: seed 41 at 0x101234, the child's seed 45 at 0x160000, the pinned
# import's 46 and 49 at 0x170000, the host's seed 42 at 0x180000, the
# peer import's 47 at 0x190000, zero elsewhere (the writes attempted
# after revocation at 0x140000 and 0x1a0000 included)
host_check_whole near 0x101234 0x5000 41 0x160000 0x1000 45 \
	0x170000 0x1000 46 0x171000 0x1000 49 0x180000 0x3000 42 \
	0x190000 0x1000 47
# far: seed 51 at 0x200800, pinned 52 at 0x220000, peer 53 at 0x240000,
# zero elsewhere
host_check_whole far 0x200800 0x4000 51 0x220000 0x1000 52 \
	0x240000 0x1000 53
echo "edu_dma ok"
