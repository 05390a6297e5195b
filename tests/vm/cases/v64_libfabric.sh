#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# libfabric v2.6.0 (verbs;ofi_rxm) on rdma-core v64 moves data into the
# near ivshmem BAR through an FI_MR_DMABUF registration (fi_read into it)
# and through plain fi_mr_reg() under the shim (fi_write into it); the
# guest side is tests/vm/guest/v64_libfabric.sh.  The host file behind
# the BAR must hold exactly that: seed 71 in [0x300000, 0x400000), seed
# 72 in [0x400000, 0x500000), zero everywhere else (the registrations
# that had to fail wrote nothing), and the far BAR nothing.
. "$(dirname "$0")/../lib/host.sh"

upstream_host_env libfabric
[ -x "$P2PMR_BUILD_DIR/tests/guest/fi_bar_write" ] ||
	skip "tests/guest/fi_bar_write is not built: run" \
	     "tests/libfabric-build.sh (ctest: upstream.fi_bar_write)"

new_run_dir
vm_boot -- "$GUEST_DIR/v64_libfabric.sh"
[ "$VM_RC" -eq 0 ] || fail "guest side failed (status $VM_RC)"

file=$RUN_DIR/ivshmem-near.mem
size=$(stat -c %s "$file")
"$PATTERN" check-zero "$file" 0 $((0x300000)) ||
	fail "something wrote below the FI_MR_DMABUF MR"
host_check near $((0x300000)) $((0x100000)) 71
host_check near $((0x400000)) $((0x100000)) 72
"$PATTERN" check-zero "$file" $((0x500000)) $((size - 0x500000)) ||
	fail "something wrote above the shim's MR"
"$PATTERN" check-zero "$RUN_DIR/ivshmem-far.mem" 0 \
	"$(stat -c %s "$RUN_DIR/ivshmem-far.mem")" ||
	fail "the far BAR was written"
echo "v64_libfabric ok: the host file behind the near BAR holds what" \
	"libfabric moved through the FI_MR_DMABUF MR and the shim's MR," \
	"and nothing else"
