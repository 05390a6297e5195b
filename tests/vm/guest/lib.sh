# SPDX-License-Identifier: GPL-2.0
# Helpers for scripts that run inside the testbed guest (source this file).
#
# Devices are found by what they are and where they sit, never by a fixed
# PCI address: the NIC is the virtio-net device, the "near" BAR the ivshmem
# device behind the NIC's switch, the "far" BAR the ivshmem device that is
# not, the CMB the NVMe controller's BAR2.

P2PMR_IVSHMEM_ID="0x1af4 0x1110"
P2PMR_VIRTIO_NET_ID="0x1af4 0x1041"
P2PMR_NVME_CLASS=0x010802
P2PMR_GUEST_IP=192.0.2.1
P2PMR_SKIP=77

# p2pmr_skip <reason>: this test cannot run here; say why.
p2pmr_skip() {
	echo "SKIP: $*"
	exit $P2PMR_SKIP
}

p2pmr_fail() {
	echo "FAIL: $*" >&2
	exit 1
}

p2pmr_log() {
	echo "# $*"
}

_pci_ids() {
	echo "$(cat "$1/vendor") $(cat "$1/device")"
}

# _pci_find_id <"vendor device">: BDFs of the matching devices, sorted.
_pci_find_id() {
	local d

	for d in /sys/bus/pci/devices/*; do
		[ "$(_pci_ids "$d")" = "$1" ] && basename "$d"
	done | sort
}

# pci_upstream_switch_port <bdf>: the BDF of the switch upstream port above
# the device, or nothing when the device hangs off a root port.
pci_upstream_switch_port() {
	local path type

	path=$(readlink -f "/sys/bus/pci/devices/$1")
	while path=$(dirname "$path"); [ -e "$path/config" ]; do
		# PCIe Capabilities register, bits 7:4: 5 = switch upstream port.
		type=$(setpci -s "$(basename "$path")" CAP_EXP+2.w 2>/dev/null)
		[ -n "$type" ] && type=$(( (0x$type >> 4) & 0xf ))
		if [ "$type" = 5 ]; then
			basename "$path"
			return 0
		fi
	done
	return 0
}

# pci_root_port <bdf>: the BDF of the root port the device sits below.
pci_root_port() {
	local path

	path=$(readlink -f "/sys/bus/pci/devices/$1")
	while [ -e "$(dirname "$path")/config" ]; do
		path=$(dirname "$path")
	done
	basename "$path"
}

pci_nic() {
	_pci_find_id "$P2PMR_VIRTIO_NET_ID" | head -n 1
}

pci_nvme() {
	local d

	for d in /sys/bus/pci/devices/*; do
		[ "$(cat "$d/class")" = "$P2PMR_NVME_CLASS" ] && basename "$d"
	done | head -n 1
}

# pci_near_ivshmem: the ivshmem device behind the same switch as the NIC.
pci_near_ivshmem() {
	local sw d

	sw=$(pci_upstream_switch_port "$(pci_nic)")
	[ -n "$sw" ] || return 0
	for d in $(_pci_find_id "$P2PMR_IVSHMEM_ID"); do
		[ "$(pci_upstream_switch_port "$d")" = "$sw" ] && echo "$d"
	done | head -n 1
}

# pci_far_ivshmem: an ivshmem device on a root port of its own.
pci_far_ivshmem() {
	local sw d

	sw=$(pci_upstream_switch_port "$(pci_nic)")
	for d in $(_pci_find_id "$P2PMR_IVSHMEM_ID"); do
		[ "$(pci_upstream_switch_port "$d")" != "$sw" ] && echo "$d"
	done | head -n 1
}

# pci_bar_size <bdf> <bar>: size in bytes of a BAR (0 when absent).
pci_bar_size() {
	local start end

	read -r start end _ < <(sed -n "$(($2 + 1))p" \
		"/sys/bus/pci/devices/$1/resource")
	if [ "$((end))" -eq 0 ]; then
		echo 0
	else
		echo $((end - start + 1))
	fi
}

# pci_bar_flags <bdf> <bar>: the BAR's resource flags (IORESOURCE_*).
pci_bar_flags() {
	sed -n "$(($2 + 1))p" "/sys/bus/pci/devices/$1/resource" |
		awk '{ print $3 }'
}

# nic_netdev: the network interface of the testbed NIC.
nic_netdev() {
	local nic=/sys/bus/pci/devices/$(pci_nic)

	ls "$nic"/virtio*/net 2>/dev/null | head -n 1
}

# rxe_up [name]: bring up soft-RoCE on the NIC (IPv4 192.0.2.1/24) and
# print the RDMA device name once its RoCEv2 IPv4 GID (index 1) is ready.
rxe_up() {
	local name=${1:-rxe0} dev i

	modprobe virtio_net || p2pmr_fail "modprobe virtio_net failed"
	dev=$(nic_netdev)
	[ -n "$dev" ] || p2pmr_fail "the NIC $(pci_nic) has no network interface"
	ip addr add "$P2PMR_GUEST_IP/24" dev "$dev" 2>/dev/null
	ip link set "$dev" up || p2pmr_fail "cannot bring $dev up"
	modprobe rdma_rxe || p2pmr_fail "modprobe rdma_rxe failed"
	modprobe ib_uverbs || p2pmr_fail "modprobe ib_uverbs failed"
	if [ ! -e "/sys/class/infiniband/$name" ]; then
		rdma link add "$name" type rxe netdev "$dev" ||
			p2pmr_fail "rdma link add $name on $dev failed"
	fi
	for i in $(seq 1 100); do
		if grep -q "ffff:c000:0201" \
			"/sys/class/infiniband/$name/ports/1/gids/1" 2>/dev/null; then
			echo "$name"
			return 0
		fi
		sleep 0.1
	done
	p2pmr_fail "$name: GID 1 never showed $P2PMR_GUEST_IP"
}

# rxe_load_module <rdma_rxe.ko>: load a soft-RoCE module built out of tree
# (the dma-buf patched one) in place of the stock rdma_rxe, with the stock
# modules it depends on; rxe_up then uses it.  Fails when the stock
# rdma_rxe is loaded already.
rxe_load_module() {
	local ko=$1 dep

	[ -r "$ko" ] || p2pmr_fail "$ko: no such module"
	if [ -e /sys/module/rdma_rxe ]; then
		# An out-of-tree module taints the kernel with O.
		grep -q O /sys/module/rdma_rxe/taint 2>/dev/null ||
			p2pmr_fail "the stock rdma_rxe is loaded, not $ko"
		return 0
	fi
	for dep in $(modinfo -F depends "$ko" | tr , ' '); do
		modprobe "$dep" || p2pmr_fail "modprobe $dep failed"
	done
	insmod "$ko" || p2pmr_fail "insmod $ko failed"
}

# rxe_dmabuf_reg_tool: path of tests/guest/rxe_dmabuf_reg in the build tree.
rxe_dmabuf_reg_tool() {
	local t=$P2PMR_BUILD_DIR/tests/guest/rxe_dmabuf_reg

	[ -x "$t" ] || p2pmr_fail "$t is not built; run the build first"
	echo "$t"
}

# wait_tcp_listen <port> [seconds]: wait until something listens on the
# TCP port (perftest and ibv_*_pingpong servers exchange QP numbers over
# TCP 18515 before any RDMA): a client started earlier fails at once.
wait_tcp_listen() {
	local port=$1 end=$((SECONDS + ${2:-60}))

	while ! ss -Htln "sport = :$port" | grep -q .; do
		[ $SECONDS -lt $end ] ||
			p2pmr_fail "nothing listens on TCP port $port"
		sleep 0.1
	done
}

# wait_for <seconds> <command...>: poll every 0.1 s until the command
# succeeds; 1 if it has not within that time.
wait_for() {
	local tries=$(($1 * 10))

	shift
	while ! "$@"; do
		tries=$((tries - 1))
		[ $tries -gt 0 ] || return 1
		sleep 0.1
	done
}

# p2pmr_tool <name>: path of a tool built in the build tree.
p2pmr_tool() {
	local t=$P2PMR_BUILD_DIR/tools/$1

	[ -x "$t" ] || p2pmr_fail "$t is not built; run the build first"
	echo "$t"
}

# --- p2pmr.ko and its test importer ---------------------------------------

P2PMR_IMPORTER_CTL=/sys/kernel/debug/p2pmr_test_importer/ctl
P2PMR_IMPORTER_RESULTS=/sys/kernel/debug/p2pmr_test_importer/results
P2PMR_COUNTERS=/sys/kernel/debug/p2pmr/counters

# p2pmr_load [params...]: load this build's p2pmr.ko.
p2pmr_load() {
	[ -e /sys/module/p2pmr ] && return 0
	insmod "$P2PMR_BUILD_DIR/kmod/p2pmr/p2pmr.ko" "$@" ||
		p2pmr_fail "insmod p2pmr.ko failed"
	[ -c /dev/p2pmr ] || p2pmr_fail "p2pmr.ko loaded but /dev/p2pmr is missing"
}

importer_load() {
	[ -e /sys/module/p2pmr_test_importer ] && return 0
	insmod "$P2PMR_BUILD_DIR/kmod/p2pmr_test_importer/p2pmr_test_importer.ko" ||
		p2pmr_fail "insmod p2pmr_test_importer.ko failed"
}

# uapi_test <args...>: the guest-side ABI test program.
uapi_test() {
	"$P2PMR_BUILD_DIR/tests/guest/p2pmr_uapi_test" "$@"
}

# p2pmr_counter <name>: one of p2pmr's live-object counters.
p2pmr_counter() {
	awk -v n="$1" '$1 == n { print $2 }' "$P2PMR_COUNTERS"
}

# p2pmr_expect_idle: every p2pmr counter of live objects is zero.
p2pmr_expect_idle() {
	local name

	for name in exports attachments mappings pins vmaps cpu_mmaps; do
		[ "$(p2pmr_counter $name)" = 0 ] ||
			p2pmr_fail "p2pmr counter $name is $(p2pmr_counter $name)," \
				   "not 0: $(tr '\n' ' ' <"$P2PMR_COUNTERS")"
	done
}

# importer_result <slot> <field>: a field of the slot's results line.
importer_result() {
	awk -v s="$1" -v f="$2" '$1 == "slot" && $2 == s && $3 == "dev" {
		for (i = 3; i < NF; i++) if ($i == f) print $(i + 1) }' \
		"$P2PMR_IMPORTER_RESULTS"
}

# importer_sg <slot>: "dma len" of each scatterlist entry of the slot.
importer_sg() {
	awk -v s="$1" '$1 == "slot" && $2 == s && $3 == "sg" { print $6, $8 }' \
		"$P2PMR_IMPORTER_RESULTS"
}

# pci_bar_bus_addr <bdf> <bar>: the BAR's bus address, read from the
# device's own config space (not from the kernel's CPU-side resource).
pci_bar_bus_addr() {
	local bdf=$1 bar=$2 lo hi=0

	lo=0x$(setpci -s "$bdf" "$(printf %x $((0x10 + 4 * bar))).l")
	# Memory BAR type 10b: 64-bit, the next register holds the high half.
	if (( (lo & 0x6) == 0x4 )); then
		hi=0x$(setpci -s "$bdf" "$(printf %x $((0x14 + 4 * bar))).l")
	fi
	printf '0x%016x\n' $(( (hi << 32) | (lo & ~0xf) ))
}

# pci_bar_cpu_addr <bdf> <bar>: the BAR's CPU physical address.
pci_bar_cpu_addr() {
	printf '0x%016x\n' "$(sed -n "$(($2 + 1))p" \
		"/sys/bus/pci/devices/$1/resource" | awk '{ print $1 }')"
}

# pci_io_bar_resource: the sysfs file of some I/O-port BAR in the guest.
pci_io_bar_resource() {
	local d bar flags

	for d in /sys/bus/pci/devices/*; do
		for bar in 0 1 2 3 4 5; do
			flags=$(sed -n "$((bar + 1))p" "$d/resource" | awk '{ print $3 }')
			if (( flags & 0x100 )) && [ -e "$d/resource$bar" ]; then
				echo "$d/resource$bar"
				return 0
			fi
		done
	done
}

# --- the verbs shim ---------------------------------------------------------

# p2pmr_shim: path of this build's libp2pmr-shim.so, for LD_PRELOAD.
p2pmr_shim() {
	local s=$P2PMR_BUILD_DIR/providers/libp2pmr-shim.so

	[ -r "$s" ] || p2pmr_fail "$s is not built; run the build first"
	echo "$s"
}

# p2pmr_rxe_setup: p2pmr.ko, the dma-buf soft-RoCE and rxe0 on the NIC;
# prints the RDMA device name.
p2pmr_rxe_setup() {
	rxe_load_module "$P2PMR_BUILD_DIR/kmod/rdma_rxe/rdma_rxe.ko" >&2
	p2pmr_load >&2
	rxe_up rxe0
}

# --- MPI over soft-RoCE -----------------------------------------------------

# The Open MPI and UCX settings a site would use to run MPI over an RDMA
# device with the shim (README.md, "MPI"): UCX's pml and osc, no shared
# memory or TCP transports, UCX on rc_verbs over the RDMA port with
# ud_verbs for its connection setup only.  GID index 0 (the IPv6 link-
# local one): UCX's ud_verbs over rxe with the IPv4 GID (index 1) never
# gets a reply, and its endpoints time out.
P2PMR_MPI_ARGS=(--allow-run-as-root --oversubscribe
	--mca pml ucx --mca osc ucx --mca btl ^vader,tcp,openib,uct
	-x UCX_TLS=rc_verbs,ud_verbs,self -x UCX_IB_GID_INDEX=0)

# mpi_bar_tool: path of tests/mpi/mpi_bar in the build tree; skips the
# test when MPI is not installed (the build then leaves it out).
mpi_bar_tool() {
	local t=$P2PMR_BUILD_DIR/tests/mpi/mpi_bar

	command -v mpirun >/dev/null ||
		p2pmr_skip "mpirun is not installed (openmpi-bin)"
	[ -x "$t" ] || p2pmr_skip "$t is not built (no MPI at build time:" \
		"install libopenmpi-dev and build again)"
	echo "$t"
}

# p2pmr_mpirun <rdma device> [mpirun arguments...]: two ranks on this
# node, all of their traffic on the RDMA device's port 1; killed after
# 300 s (status 124) rather than hang the guest.
p2pmr_mpirun() {
	local dev=$1

	shift
	timeout 300 mpirun "${P2PMR_MPI_ARGS[@]}" \
		-x UCX_NET_DEVICES="$dev:1" -np 2 "$@"
}

# rxe_sent_pkts <rdma device>: packets the soft-RoCE device has sent.
rxe_sent_pkts() {
	cat "/sys/class/infiniband/$1/ports/1/hw_counters/sent_pkts"
}
