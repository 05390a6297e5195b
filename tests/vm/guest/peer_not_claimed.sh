#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# What p2pmr's peer-memory client must not claim, with plain ibv_reg_mr()
# over soft-RoCE and the client registered; one row each:
# - host memory (malloc(), a MAP_PRIVATE file mapping) registers through
#   ib_umem_get() as always: the client is never asked, the host counts
#   no peer MR;
# - a writable shared mapping of the near BAR is claimed (the control);
# - a read-only or private mapping of the BAR, and a range that runs past
#   the end of the BAR mapping, are declined: ibv_reg_mr() fails with
#   EFAULT (the RDMA core's error when no client claims a range) and
#   p2pmr logs why and how to fix it;
# - a mapping of a p2pmr dma-buf (device memory, not a resource file) is
#   declined without a log line: it is not the client's to judge.
#
# usage: peer_not_claimed.sh <rdma_rxe.ko>
. "$(dirname "$0")/lib.sh"

tool=$(guest_test_tool peer_mem_test) || exit 1
dev=$(peer_rxe_setup "${1:-}") || exit 1
near=$(pci_near_ivshmem)
[ -n "$near" ] || p2pmr_fail "no near ivshmem device"
res=/sys/bus/pci/devices/$near/resource2
n=0

# row <kind> <expected REG result> <peer MRs it adds> [dmesg line|-]
row() {
	local kind=$1 want=$2 add=$3 line=${4:--} before seen out

	n=$((n + 1))
	before=$(peer_stat num_alloc_mrs)
	seen=$(dmesg | wc -l)
	out=$("$tool" reg "$dev" "$kind" "$res" 2>&1)
	if [ "$out" != "REG $kind $want" ]; then
		echo "not ok $n - $kind: $out, expected $want"
		return 1
	fi
	if [ "$(peer_stat num_alloc_mrs)" != $((before + add)) ]; then
		echo "not ok $n - $kind: $(($(peer_stat num_alloc_mrs) - before)) peer MRs, expected $add"
		return 1
	fi
	if [ "$line" != - ] &&
	   ! dmesg | tail -n +$((seen + 1)) | grep -q "p2pmr: .*$line"; then
		echo "not ok $n - $kind: no p2pmr log line '$line'"
		return 1
	fi
	if [ "$line" = - ] && dmesg | tail -n +$((seen + 1)) | grep -q "p2pmr:"; then
		echo "not ok $n - $kind: p2pmr logged: $(dmesg | tail -n +$((seen + 1)) | grep p2pmr:)"
		return 1
	fi
	echo "ok $n - $kind: $want${4:+, logged: $line}, $add peer MR(s)"
}

echo "1..7"
status=0
row host ok 0 || status=1
row file-private ok 0 || status=1
row bar ok 1 || status=1
row bar-ro EFAULT 0 "is read-only: map .* with MAP_SHARED and PROT_WRITE" ||
	status=1
row bar-private EFAULT 0 "is private: map .* with MAP_SHARED and PROT_WRITE" ||
	status=1
row bar-straddle EFAULT 0 "extends past its mapping" || status=1
row dmabuf EFAULT 0 || status=1
[ $status -eq 0 ] || p2pmr_fail "some rows failed"
peer_expect_idle

peer_rxe_teardown "$dev"
echo "peer-memory client claims only writable shared BAR mappings"
