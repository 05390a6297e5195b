#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# RDMA transfers of every size, at unaligned offsets, into sub-range MRs and
# by SEND/RECV land in the near ivshmem BAR exactly where they should: the
# host reads the file behind the BAR after the guest side
# (tests/vm/guest/rxe_dmabuf_xfer.sh near) has run, and checks the layout
# the guest checks too (tests/vm/guest/rxe_dmabuf_xfer.layout), byte for
# byte:
#   [0, 0x100000) and [0x900000, end)  seed 40 (the whole-BAR transfer)
#   [0x100000, 0x900000)               the regions below, zero elsewhere
# The far BAR must be untouched.
. "$(dirname "$0")/../lib/host.sh"

new_run_dir
vm_boot -- "$GUEST_DIR/rxe_dmabuf_xfer.sh" \
	"$P2PMR_KMOD_DIR/rdma_rxe/rdma_rxe.ko" \
	"$P2PMR_KMOD_DIR/p2pmr/p2pmr.ko" near
[ "$VM_RC" -eq 0 ] || fail "guest side failed (status $VM_RC)"

file=$RUN_DIR/ivshmem-near.mem
size=$(stat -c %s "$file")
pos=$((0x100000))
host_check near 0 $pos 40
while read -r off len seed; do
	case $off in '' | '#'*) continue ;; esac
	if [ $((off)) -gt $pos ]; then
		"$PATTERN" check-zero "$file" $pos $((off - pos)) ||
			fail "RDMA wrote into the gap [$pos, $((off)))"
	fi
	host_check near "$off" "$len" "$seed"
	pos=$((off + len))
done <"$GUEST_DIR/rxe_dmabuf_xfer.layout"
host_check near $pos $((size - pos)) 40
"$PATTERN" check-zero "$RUN_DIR/ivshmem-far.mem" 0 \
	"$(stat -c %s "$RUN_DIR/ivshmem-far.mem")" ||
	fail "the far BAR was written"
echo "rxe_dmabuf_xfer ok: the host file behind the near BAR holds every" \
	"transfer, and nothing else"
