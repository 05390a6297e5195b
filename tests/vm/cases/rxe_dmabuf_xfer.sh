#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# RDMA transfers of every size, at unaligned offsets, into sub-range MRs and
# by SEND/RECV land in the near ivshmem BAR exactly where they should: the
# host reads the file behind the BAR after the guest side
# (tests/vm/guest/rxe_dmabuf_xfer.sh near) has run, and checks the layout
# documented in that script's header, byte for byte:
#   [0, 0x100000) and [0x900000, end)  seed 40 (the whole-BAR transfer)
#   [0x100000, 0x900000)               the regions below, zero elsewhere
# The far BAR must be untouched.
. "$(dirname "$0")/../lib/host.sh"

# offset length seed, sorted, disjoint, inside [0x100000, 0x900000)
layout="
0x100000 0x1 41
0x101003 0x7 42
0x103011 0x1000 43
0x110005 0x10001 44
0x14000d 0x100000 45
0x300007 0x10001 46
0x320000 0x1 47
0x400003 0x100000 48
0x600013 0x10000 50
0x700000 0x1000 51
0x800000 0x1000 52
0x8fffff 0x1 49"

new_run_dir
vm_boot -- "$GUEST_DIR/rxe_dmabuf_xfer.sh" \
	"$P2PMR_BUILD_DIR/kmod/rdma_rxe/rdma_rxe.ko" \
	"$P2PMR_BUILD_DIR/kmod/p2pmr/p2pmr.ko" near
[ "$VM_RC" -eq 0 ] || fail "guest side failed (status $VM_RC)"

file=$RUN_DIR/ivshmem-near.mem
size=$(stat -c %s "$file")
pos=$((0x100000))
host_check near 0 $pos 40
while read -r off len seed; do
	[ -n "$off" ] || continue
	if [ $((off)) -gt $pos ]; then
		"$PATTERN" check-zero "$file" $pos $((off - pos)) ||
			fail "RDMA wrote into the gap [$pos, $((off)))"
	fi
	host_check near "$off" "$len" "$seed"
	pos=$((off + len))
done <<<"$layout"
host_check near $pos $((size - pos)) 40
"$PATTERN" check-zero "$RUN_DIR/ivshmem-far.mem" 0 \
	"$(stat -c %s "$RUN_DIR/ivshmem-far.mem")" ||
	fail "the far BAR was written"
echo "rxe_dmabuf_xfer ok: the host file behind the near BAR holds every" \
	"transfer, and nothing else"
