#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# What an HCA gets from p2pmr's peer-memory client equals what it gets
# from p2pmr's dma-buf path: for each importer and range, the scatterlist
# the peer-memory host (the RDMA core's peer path, ib_umem_get() of an
# MR over a mapping of the BAR) receives from the client is compared with
# the one the test importer maps from a dma-buf export of the same range.
# - near BAR, NIC behind the same switch: the BAR's bus address, one
#   segment;
# - a user range that is not page-aligned: the client rounds it out to
#   pages, as OFED's core expects;
# - far BAR (another root port): both refuse with EREMOTEIO and log why;
# - far BAR with allow_host_bridge=1: both give the DMA API address.
# These are comparisons of values; that the addresses are right is proven
# by a device DMAing through them in vm.edu_dma and vm.edu_dma_iommu*.
. "$(dirname "$0")/lib.sh"

peer_load
importer_load
nic=$(pci_nic)
near=$(pci_near_ivshmem)
far=$(pci_far_ivshmem)
[ -n "$near" ] && [ -n "$far" ] ||
	p2pmr_fail "near ($near) or far ($far) ivshmem missing"
tool=$(guest_test_tool peer_mem_test) || exit 1

# peer_sg <resource> <offset> <length> <importer>: "dma len" lines of the
# client's scatterlist, or "GET <errno name>".
peer_sg() {
	local out

	out=$("$tool" sg "$@") || p2pmr_fail "peer_mem_test sg $* failed"
	case $out in
	"GET ok"*) echo "$out" | awk '$1 == "SG" { print $2, $3 }' ;;
	*) echo "$out" ;;
	esac
}

# dmabuf_sg <resource> <offset> <length> <importer>: the same from the
# dma-buf path, or "attach/map failed".
dmabuf_sg() {
	if importer_attach_map "$@" 2>/dev/null; then
		importer_sg 0 | while read -r dma len; do
			printf '%#x %#x\n' "$dma" "$len"
		done
	else
		echo "attach/map failed: $(importer_result 0 last_err)"
	fi
	echo reset >"$P2PMR_IMPORTER_CTL"
}

# same <what> <peer resource offset length> <dma-buf offset length>
#      <importer> <expected>: both paths give <expected> ("dma len")
same() {
	local what=$1 res=$2 poff=$3 plen=$4 doff=$5 dlen=$6 imp=$7 want=$8
	local p d

	p=$(peer_sg "$res" "$poff" "$plen" "$imp")
	d=$(dmabuf_sg "$res" "$doff" "$dlen" "$imp")
	[ "$p" = "$d" ] ||
		p2pmr_fail "$what: peer client gave '$p', dma-buf path '$d'"
	[ "$p" = "$want" ] || p2pmr_fail "$what: got '$p', expected '$want'"
	echo "ok - $what: both give $p"
}

near_res=/sys/bus/pci/devices/$near/resource2
far_res=/sys/bus/pci/devices/$far/resource2
bus=$(pci_bar_bus_addr "$near" 2)

same "near BAR [0x200000, +0x400000) for NIC $nic" "$near_res" \
	0x200000 0x400000 0x200000 0x400000 "$nic" \
	"$(printf '%#x %#x' $((bus + 0x200000)) 0x400000)"
same "unaligned near range [0x200010, +0x3000) rounded out to pages" \
	"$near_res" 0x200010 0x3000 0x200000 0x4000 "$nic" \
	"$(printf '%#x %#x' $((bus + 0x200000)) 0x4000)"

[ "$(cat /sys/module/p2pmr/parameters/allow_host_bridge)" = N ] ||
	p2pmr_fail "allow_host_bridge is on by default"
seen=$(dmesg | wc -l)
p=$(peer_sg "$far_res" 0 0x10000 "$nic")
[ "$p" = "GET EREMOTEIO" ] ||
	p2pmr_fail "the client did not refuse the far BAR with EREMOTEIO: $p"
d=$(dmabuf_sg "$far_res" 0 0x10000 "$nic")
[ "$d" = "attach/map failed: -121" ] ||
	p2pmr_fail "the dma-buf path did not refuse the far BAR: $d"
[ "$(dmesg | tail -n +$((seen + 1)) |
	grep -c "p2pmr: importer $nic and $far share no PCI switch")" -ge 2 ] ||
	p2pmr_fail "the refusals of $far for $nic are not both logged"
echo "ok - far BAR for the NIC: both refuse with EREMOTEIO, both logged"

echo 1 >/sys/module/p2pmr/parameters/allow_host_bridge
same "far BAR [0x10000, +0x20000) with allow_host_bridge=1" "$far_res" \
	0x10000 0x20000 0x10000 0x20000 "$nic" \
	"$(printf '%#x %#x' $(( $(pci_bar_cpu_addr "$far" 2) + 0x10000 )) 0x20000)"
echo 0 >/sys/module/p2pmr/parameters/allow_host_bridge

peer_expect_idle
rmmod p2pmr_test_importer || p2pmr_fail "rmmod p2pmr_test_importer"
rmmod p2pmr || p2pmr_fail "rmmod p2pmr failed with nothing registered"
rmmod peer_mem_host || p2pmr_fail "rmmod peer_mem_host failed"
echo "peer-memory scatterlists ok"
