#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The testbed demo: the guest's PCIe topology and the BARs p2pmr serves.
. "$(dirname "$0")/lib.sh"

echo "== PCIe topology of the testbed guest"
lspci -tv
echo
echo "== Device BARs p2pmr would export (memory BARs of the endpoints)"
human() {
	local n=$1 unit

	for unit in B K M G; do
		if [ "$n" -lt 1024 ] || [ $((n % 1024)) -ne 0 ]; then
			echo "$n$unit"
			return
		fi
		n=$((n / 1024))
	done
	echo "${n}T"
}

row() {
	printf '%-13s %-24s %-4s %-18s %6s  %s\n' "$@"
}

row DEVICE ROLE BAR "CPU ADDRESS" SIZE FLAGS
nic=$(pci_nic) near=$(pci_near_ivshmem) far=$(pci_far_ivshmem)
nvme=$(pci_nvme)
for bdf in "$near" "$nvme" "$far" "$nic"; do
	case "$bdf" in
	"$near") role="GPU stand-in (near)" ;;
	"$nvme") role="NVMe CMB" ;;
	"$far") role="far BAR (own root port)" ;;
	"$nic") role="RDMA NIC (virtio-net)" ;;
	esac
	for bar in 0 1 2 3 4 5; do
		size=$(pci_bar_size "$bdf" "$bar")
		[ "$size" -gt 0 ] || continue
		flags=$(pci_bar_flags "$bdf" "$bar")
		(( flags & 0x200 )) || continue
		kind=mem
		(( flags & 0x2000 )) && kind="mem,prefetchable"
		start=$(sed -n "$((bar + 1))p" "/sys/bus/pci/devices/$bdf/resource" |
			awk '{ print $1 }')
		row "$bdf" "$role" "$bar" "$start" "$(human "$size")" "$kind"
	done
done
echo
echo "near BAR and NIC share switch $(pci_upstream_switch_port "$nic"):" \
     "P2P by bus address; the far BAR is reached only through the host bridge."
