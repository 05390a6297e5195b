#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The verbs shim, checked from outside the guest: what an unmodified
# program's RDMA wrote through plain ibv_reg_mr() MRs is in the host file
# behind the near ivshmem BAR, and only there.
#
# usage: shim_mr.sh mixed|stale|bind|cache|dmabuf|cuda|rocm (see tests/vm/guest/shim_mr.sh)
. "$(dirname "$0")/../lib/host.sh"

case=${1:-}
new_run_dir
vm_boot -- "$GUEST_DIR/shim_mr.sh" "$case"
[ "$VM_RC" -eq 0 ] || fail "guest side failed (status $VM_RC)"

case "$case" in
mixed)
	host_check near 0x100000 0x100000 11
	"$PATTERN" check-zero "$RUN_DIR/ivshmem-near.mem" 0 0x100000 ||
		fail "RDMA wrote below the registered BAR range"
	;;
stale)
	# seed 21 went to the BAR MR; seed 22 to host memory mapped at the
	# same address afterwards, so the BAR must still hold seed 21
	host_check near 0x400000 0x100000 21
	;;
bind)
	host_check near 0x800000 0x100000 31
	;;
cache)
	# each where the cache had to put it: seed 53 through a mapping of
	# BAR offset 14 MiB made where offset 0 had been mapped, 56 by a
	# child after fork(); 54 went to host memory, not to the BAR
	host_check near 0xc00000 0x100000 51
	host_check near 0xd00000 0x100000 52
	host_check near 0xe00000 0x100000 53
	host_check near 0xf00000 0x100000 55
	host_check near 0x1000000 0x100000 56
	# a stale export would have put 53 or 54 at the old mapping's offset
	"$PATTERN" check-zero "$RUN_DIR/ivshmem-near.mem" 0 0xc00000 ||
		fail "RDMA wrote where the replaced BAR mapping had been"
	;;
dmabuf)
	host_check near 0x1300000 0x100000 61
	host_check near 0x1200800 0xff000 62
	;;
cuda)
	host_check near 0x1500000 0x100000 71
	host_check near 0x1400800 0xff000 72
	;;
rocm)
	host_check near 0x1900000 0x100000 81
	host_check near 0x1800800 0xff000 82
	;;
*)
	fail "usage: $0 mixed|stale|bind|cache|dmabuf|cuda|rocm"
	;;
esac
"$PATTERN" check-zero "$RUN_DIR/ivshmem-far.mem" 0 0x100000 ||
	fail "the far BAR was written"
echo "shim_mr $case ok: the data is in the host file behind the BAR"
