#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# libfabric v2.6.0 (verbs;ofi_rxm) on rdma-core v64 + providers/
# rdma-core-patches moves data into the near ivshmem BAR over soft-RoCE
# (tests/guest/fi_bar_write; tests/vm/cases/v64_libfabric.sh checks the
# host file behind the BAR):
#
#   dmabuf, -a read   fi_mr_regattr(FI_MR_DMABUF) of a p2pmr_export_va()
#                     dma-buf, access FI_READ; fi_read from host memory
#                     into it: seed 71 at BAR [0x300000, 0x400000)
#   dmabuf, -a write  the same with FI_REMOTE_WRITE: refused, EOPNOTSUPP
#                     (the verbs provider adds IBV_ACCESS_REMOTE_ATOMIC,
#                     soft-RoCE's dma-buf MRs take no remote atomics);
#                     seed 70 must not reach [0x200000, 0x300000)
#   shim, -a write    plain fi_mr_reg() of the BAR address, FI_REMOTE_WRITE,
#                     libp2pmr-shim.so preloaded (P2PMR_DROP_REMOTE_ATOMIC=1:
#                     the shim registers it without remote atomics);
#                     fi_write from host memory: seed 72 at
#                     [0x400000, 0x500000)
#   no shim, -a write the same fi_mr_reg() without the shim: EFAULT, as on
#                     a stock system; seed 73 must not reach
#                     [0x600000, 0x700000)
#
# Each MR that exists must be a dma-buf MR: p2pmr counts an attachment
# while it is registered (only the RDMA device importing the dma-buf makes
# one), and p2pmr has no live export left afterwards.
. "$(dirname "$0")/lib.sh"

prog=$(guest_test_tool fi_bar_write) || exit 1
upstream_env libfabric
use_rdma_core v64
export LD_LIBRARY_PATH=$P2PMR_LIBFABRIC_V64/lib:$LD_LIBRARY_PATH

dev=$(p2pmr_rxe_setup) || exit 1
shim=$(p2pmr_shim) || exit 1
bdf=$(pci_near_ivshmem)
[ -n "$bdf" ] || p2pmr_fail "no near ivshmem device"
res=/sys/bus/pci/devices/$bdf/resource2
# rxm's connections go through rdma_cm on the NIC's address.  rxm sizes
# each verbs CQ for FI_UNIVERSE_SIZE peers (default 256: more entries than
# soft-RoCE's max_cqe, 32767, and fi_enable fails); two endpoints talk
# here.
export FI_VERBS_IFACE FI_UNIVERSE_SIZE=16
FI_VERBS_IFACE=$(nic_netdev)
p2pmr_log "$dev on $FI_VERBS_IFACE; BAR $res; libfabric $P2PMR_LIBFABRIC_V64"

# run <what> <expected MR: yes|no> [env...] -- <fi_bar_write arguments>:
# run it, show its output, check that it loaded v64's libibverbs and this
# libfabric, and that a registered MR was a dma-buf MR.  Leaves the
# output in $OUT.
run() {
	local what=$1 mr=$2 envs=() rc att

	shift 2
	while [ "$1" != -- ]; do
		envs+=("$1")
		shift
	done
	shift
	OUT=$(env "${envs[@]}" "$prog" -d "$dev" -P "$res" "$@" 2>&1)
	rc=$?
	# libfabric's own log (FI_LOG_LEVEL) only where it says something
	# about dma-bufs.
	awk '!/^libfabric:[0-9]+:/ || /dmabuf/ { print "    " $0 }' <<<"$OUT"
	[ $rc -eq 0 ] || p2pmr_fail "$what (fi_bar_write exit status $rc)"
	att=$(sed -n 's/^p2pmr attachments while registered: //p' <<<"$OUT")
	if [ "$mr" = yes ]; then
		if [ -z "$att" ] || [ "$att" -lt 1 ]; then
			p2pmr_fail "$what: no p2pmr attachment while the MR" \
				   "was registered (${att:-none}): not a dma-buf MR"
		fi
	else
		[ -z "$att" ] || p2pmr_fail "$what: an MR was registered"
	fi
	p2pmr_expect_idle
	echo "ok $what"
}

# Which libraries fi_bar_write loads under this environment.
libs=$(ldd "$prog")
grep -q "libibverbs.so.1 => $P2PMR_RDMA_CORE_V64_LIB/" <<<"$libs" ||
	p2pmr_fail "fi_bar_write does not load rdma-core v64's libibverbs:" \
		   "$libs"
grep -q "libfabric.so.1 => $P2PMR_LIBFABRIC_V64/lib/" <<<"$libs" ||
	p2pmr_fail "fi_bar_write does not load $P2PMR_LIBFABRIC_V64's" \
		   "libfabric: $libs"

run "FI_MR_DMABUF, FI_READ: fi_read into the BAR" yes \
	FI_LOG_LEVEL=info FI_LOG_PROV=verbs -- \
	-m dmabuf -a read -o 0x300000 -l 0x100000 -x 71
grep -q "dmabuf support is enabled" <<<"$OUT" ||
	p2pmr_fail "libfabric's verbs provider did not enable dma-buf MRs"
grep -q "^fi_mr_regattr(FI_MR_DMABUF .* = MR$" <<<"$OUT" ||
	p2pmr_fail "no FI_MR_DMABUF registration"

run "FI_MR_DMABUF, FI_REMOTE_WRITE: refused (remote atomics)" no -- \
	-m dmabuf -a write -o 0x200000 -l 0x100000 -x 70 -e EOPNOTSUPP
dmesg | grep -q "remote atomic access to dma-buf MRs is not supported" ||
	p2pmr_fail "the refusal did not come from rxe's dma-buf MR code"

run "fi_mr_reg under the shim, FI_REMOTE_WRITE: fi_write into the BAR" yes \
	LD_PRELOAD="$shim" P2PMR_DEBUG=2 P2PMR_DROP_REMOTE_ATOMIC=1 -- \
	-m shim -a write -o 0x400000 -l 0x100000 -x 72
grep -q "is device memory: dma-buf MR" <<<"$OUT" ||
	p2pmr_fail "the shim did not register the BAR as a dma-buf MR"

run "fi_mr_reg without the shim: EFAULT" no -- \
	-m shim -a write -o 0x600000 -l 0x100000 -x 73 -e EFAULT

rdma link del "$dev" || p2pmr_fail "rdma link del $dev failed"
rmmod rdma_rxe || p2pmr_fail "rmmod rdma_rxe failed"
rmmod p2pmr || p2pmr_fail "rmmod p2pmr failed"
echo "libfabric into a BAR ok"
