#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# End to end: the dma-buf patched soft-RoCE driver imports BAR ranges that
# p2pmr.ko exports, moves data into and out of them by RDMA, refuses a BAR
# without a peer-to-peer path, and stops touching a BAR once p2pmr revokes
# the export.
#
# usage: rxe_dmabuf_p2pmr.sh <rdma_rxe.ko> <p2pmr.ko> [rxe_dmabuf_reg]
. "$(dirname "$0")/lib.sh"

rxe_ko=${1:-}
p2pmr_ko=${2:-}
reg=${3:-}
if [ -z "$rxe_ko" ] || [ -z "$p2pmr_ko" ]; then
	p2pmr_fail "usage: $0 <rdma_rxe.ko> <p2pmr.ko> [rxe_dmabuf_reg]"
fi
[ -n "$reg" ] || reg=$(guest_test_tool rxe_dmabuf_reg) || exit 1

rxe_load_module "$rxe_ko"
dev=$(rxe_up rxe0) || exit 1
insmod "$p2pmr_ko" || p2pmr_fail "insmod $p2pmr_ko failed"
near=$(pci_near_ivshmem)
far=$(pci_far_ivshmem)
if [ -z "$near" ] || [ -z "$far" ]; then
	p2pmr_fail "ivshmem devices missing"
fi
p2pmr_log "$dev on $(nic_netdev) ($(pci_nic)); near BAR $near, far BAR $far"

# 1 MiB at BAR offset 64 KiB, registered at an iova that looks like a
# user address with the same page offset.
off=0x10000 len=0x100000 iova=0x7f1234510000

"$reg" -d "$dev" -P "/sys/bus/pci/devices/$near/resource2" \
	-o $off -l $len -i $iova -x 5 ||
	p2pmr_fail "RDMA to the near BAR failed"
# Check through another path than rxe's: the guest's mmap of the BAR.
if [ -x "$P2PMR_BUILD_DIR/tools/p2pmr-pattern" ]; then
	"$P2PMR_BUILD_DIR/tools/p2pmr-pattern" check \
		"/sys/bus/pci/devices/$near/resource2" $((off)) $((len)) 5 ||
		p2pmr_fail "the near BAR does not hold what RDMA wrote"
	echo "ok near BAR holds the pattern (checked through its sysfs mmap)"
fi

seen=$(dmesg | wc -l)
"$reg" -d "$dev" -P "/sys/bus/pci/devices/$far/resource2" -l 0x1000 \
	-e EREMOTEIO || p2pmr_fail "the far BAR was not refused"
# The reason, from p2pmr, and rxe's refusal, both in the guest log.
why=$(dmesg | tail -n +$((seen + 1)) | grep "p2pmr: .*$far")
echo "$why" | grep -q "share no PCI switch" ||
	p2pmr_fail "no p2pmr log line says why $far was refused: '$why'"
dmesg | tail -n +$((seen + 1)) | grep -q "cannot attach dma-buf .*-EREMOTEIO" ||
	p2pmr_fail "rxe did not log the refused attachment"
echo "ok far BAR refused with EREMOTEIO:$(echo "$why" | sed 's/^\[[^]]*\]//')"

# Revocation: removing the device revokes the export; rxe must let go.
"$reg" -d "$dev" -P "/sys/bus/pci/devices/$near/resource2" \
	-o $off -l 0x10000 -i $iova -x 6 \
	-r "echo 1 > /sys/bus/pci/devices/$near/remove" ||
	p2pmr_fail "revocation of the near BAR failed"
[ ! -e "/sys/bus/pci/devices/$near" ] ||
	p2pmr_fail "$near is still present after its removal"
dmesg | grep -E 'p2pmr|rxe' | tail -n 20 | sed 's/^/dmesg: /'

rdma link del "$dev" || p2pmr_fail "rdma link del $dev failed"
rmmod rdma_rxe || p2pmr_fail "rmmod rdma_rxe failed"
rmmod p2pmr || p2pmr_fail "rmmod p2pmr failed"
echo "rxe dma-buf over p2pmr ok"
