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
# QEMU's edu DMA engine (vm-run --edu)
P2PMR_EDU_ID="0x1234 0x11e8"
# vm-run --guest-ip sets another address (the second guest of a pair).
P2PMR_GUEST_IP=${P2PMR_GUEST_IP:-192.0.2.1}
P2PMR_SKIP=77
# The modules built for the kernel this guest runs (vm-run sets it).
: "${P2PMR_KMOD_DIR:=$P2PMR_BUILD_DIR/kmod-$(uname -r)}"

# kernel_config_has <CONFIG_X>: the guest's kernel was built with it =y
# (its config file, which vm-run names in P2PMR_KCONFIG).
kernel_config_has() {
	[ -r "${P2PMR_KCONFIG:-}" ] ||
		p2pmr_fail "the kernel's config ${P2PMR_KCONFIG:-(unset)} is not readable"
	grep -qx "$1=y" "$P2PMR_KCONFIG"
}

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

# The helpers below spawn no process where a shell builtin does: on the
# debug kernel (KASAN, lockdep, kmemleak) under TCG one fork and exec costs
# about half a second.

# _pci_find_id <"vendor device">: BDFs of the matching devices, in order.
_pci_find_id() {
	local d vendor device

	for d in /sys/bus/pci/devices/*; do
		read -r vendor <"$d/vendor" && read -r device <"$d/device" ||
			continue
		[ "$vendor $device" = "$1" ] && echo "${d##*/}"
	done
}

# _pci_path <bdf>: the device's directory under /sys/devices, its
# ancestors (bridges, then the host bridge) the directories above it.
_pci_path() {
	local here=$PWD path

	cd -P "/sys/bus/pci/devices/$1" 2>/dev/null || return 1
	path=$PWD
	cd "$here" || return 1
	echo "$path"
}

# _pcie_port_type <bdf>: the Device/Port Type field of the PCIe
# Capabilities register (5 = switch upstream port), or nothing for a
# device without one.  A device's type never changes: each is read once
# per boot and kept in /run.
_pcie_port_type() {
	local cache=/run/p2pmr-pcie-type/$1 type

	if [ -r "$cache" ]; then
		read -r type <"$cache"
	else
		type=$(setpci -s "$1" CAP_EXP+2.w 2>/dev/null)
		[ -n "$type" ] && type=$(( (0x$type >> 4) & 0xf ))
		mkdir -p /run/p2pmr-pcie-type && echo "$type" >"$cache"
	fi
	echo "$type"
}

# pci_upstream_switch_port <bdf>: the BDF of the switch upstream port above
# the device, or nothing when the device hangs off a root port.
pci_upstream_switch_port() {
	local path

	path=$(_pci_path "$1") || return 0
	while path=${path%/*}; [ -e "$path/config" ]; do
		if [ "$(_pcie_port_type "${path##*/}")" = 5 ]; then
			echo "${path##*/}"
			return 0
		fi
	done
	return 0
}

# pci_root_port <bdf>: the BDF of the root port the device sits below.
pci_root_port() {
	local path

	path=$(_pci_path "$1") || return 0
	while [ -e "${path%/*}/config" ]; do
		path=${path%/*}
	done
	echo "${path##*/}"
}

pci_nic() {
	local d

	for d in $(_pci_find_id "$P2PMR_VIRTIO_NET_ID"); do
		echo "$d"
		return 0
	done
}

pci_nvme() {
	local d class

	for d in /sys/bus/pci/devices/*; do
		read -r class <"$d/class" || continue
		if [ "$class" = "$P2PMR_NVME_CLASS" ]; then
			echo "${d##*/}"
			return 0
		fi
	done
}

# _pci_near_nic <"vendor device">: the first such device behind the same
# switch as the NIC, or nothing.
_pci_near_nic() {
	local sw d

	sw=$(pci_upstream_switch_port "$(pci_nic)")
	[ -n "$sw" ] || return 0
	for d in $(_pci_find_id "$1"); do
		if [ "$(pci_upstream_switch_port "$d")" = "$sw" ]; then
			echo "$d"
			return 0
		fi
	done
}

# pci_near_ivshmem: the ivshmem device behind the same switch as the NIC.
pci_near_ivshmem() {
	_pci_near_nic "$P2PMR_IVSHMEM_ID"
}

# pci_far_ivshmem: an ivshmem device on a root port of its own.
pci_far_ivshmem() {
	local sw d

	sw=$(pci_upstream_switch_port "$(pci_nic)")
	for d in $(_pci_find_id "$P2PMR_IVSHMEM_ID"); do
		if [ "$(pci_upstream_switch_port "$d")" != "$sw" ]; then
			echo "$d"
			return 0
		fi
	done
}

# pci_near_edu: the edu DMA engine behind the same switch as the NIC
# (vm-run --edu), or nothing.
pci_near_edu() {
	_pci_near_nic "$P2PMR_EDU_ID"
}

# pci_far_edu: an edu DMA engine below no switch, on a root port of its
# own (vm-run --edu), or nothing.
pci_far_edu() {
	local d

	for d in $(_pci_find_id "$P2PMR_EDU_ID"); do
		if [ -z "$(pci_upstream_switch_port "$d")" ]; then
			echo "$d"
			return 0
		fi
	done
}

# _pci_resource <bdf> <bar>: the BAR's line of the device's sysfs
# resource file: "start end flags".
_pci_resource() {
	local line n=0

	while read -r line; do
		if [ $n -eq "$2" ]; then
			echo "$line"
			return 0
		fi
		n=$((n + 1))
	done <"/sys/bus/pci/devices/$1/resource"
}

# pci_bar_size <bdf> <bar>: size in bytes of a BAR (0 when absent).
pci_bar_size() {
	local start end

	read -r start end _ <<<"$(_pci_resource "$1" "$2")"
	if [ "$((end))" -eq 0 ]; then
		echo 0
	else
		echo $((end - start + 1))
	fi
}

# pci_bar_flags <bdf> <bar>: the BAR's resource flags (IORESOURCE_*).
pci_bar_flags() {
	local flags

	read -r _ _ flags _ <<<"$(_pci_resource "$1" "$2")"
	echo "$flags"
}

# nic_netdev: the network interface of the testbed NIC.
nic_netdev() {
	local nic=/sys/bus/pci/devices/$(pci_nic)

	ls "$nic"/virtio*/net 2>/dev/null | head -n 1
}

# nic_up: the NIC's network interface up, with $P2PMR_GUEST_IP/24.
nic_up() {
	local dev

	modprobe virtio_net || p2pmr_fail "modprobe virtio_net failed"
	dev=$(nic_netdev)
	[ -n "$dev" ] || p2pmr_fail "the NIC $(pci_nic) has no network interface"
	ip addr add "$P2PMR_GUEST_IP/24" dev "$dev" 2>/dev/null
	ip link set "$dev" up || p2pmr_fail "cannot bring $dev up"
}

# ipv4_gid_tail <a.b.c.d>: how the address ends a RoCEv2 IPv4 GID in sysfs
# (::ffff:a.b.c.d), e.g. c000:0201 for 192.0.2.1.
ipv4_gid_tail() {
	local IFS=.

	# shellcheck disable=SC2086
	printf '%02x%02x:%02x%02x\n' $1
}

# rxe_up [name]: bring up soft-RoCE on the NIC (IPv4 $P2PMR_GUEST_IP/24)
# and print the RDMA device name once its RoCEv2 IPv4 GID (index 1) is
# ready.
rxe_up() {
	local name=${1:-rxe0} dev gid i

	nic_up
	dev=$(nic_netdev)
	modprobe rdma_rxe || p2pmr_fail "modprobe rdma_rxe failed"
	modprobe ib_uverbs || p2pmr_fail "modprobe ib_uverbs failed"
	if [ ! -e "/sys/class/infiniband/$name" ]; then
		rdma link add "$name" type rxe netdev "$dev" ||
			p2pmr_fail "rdma link add $name on $dev failed"
	fi
	gid=$(ipv4_gid_tail "$P2PMR_GUEST_IP")
	for i in $(seq 1 100); do
		if grep -q "ffff:$gid\$" \
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
# succeeds; 1 if it has not within that time, which P2PMR_TIME_SCALE
# (vm-run: 3 on the debug kernel) multiplies.
wait_for() {
	local tries=$(($1 * 10 * ${P2PMR_TIME_SCALE:-1}))

	shift
	while ! "$@"; do
		tries=$((tries - 1))
		[ $tries -gt 0 ] || return 1
		sleep 0.1
	done
}

# dmesg_has <regex>: the kernel log has a line matching it.
dmesg_has() {
	dmesg | grep -q -- "$1"
}

# build_tool <path>: <path> in the build tree, which must be built.
build_tool() {
	local t=$P2PMR_BUILD_DIR/$1

	[ -x "$t" ] || p2pmr_fail "$t is not built; run the build first"
	echo "$t"
}

# p2pmr_tool <name>: tools/<name> (p2pmr, p2pmr-pattern) in the build tree.
p2pmr_tool() {
	build_tool "tools/$1"
}

# guest_test_tool <name>: the test program tests/guest/<name> in the
# build tree.
guest_test_tool() {
	build_tool "tests/guest/$1"
}

# --- userspace stacks: Debian's rdma-core 44 (default) or upstream --------
#
# scripts/upstream-build.sh builds the upstream stack into its cache on the
# host and writes $P2PMR_BUILD_DIR/upstream/<component>.env; the guest sees
# both through the host's / mounted read-only.

# upstream_env <component>: load the env file of an upstream build
# (rdma-core, perftest, perftest-p2pmr, perftest-p2pmr-44, libfabric);
# skip the test, saying why, when it was not built or its tarball is
# absent.
upstream_env() {
	local env=$P2PMR_BUILD_DIR/upstream/$1.env

	[ -r "$env" ] ||
		p2pmr_skip "upstream $1 is not built ($env): run" \
			"scripts/upstream-build.sh $1 (ctest: upstream.build)"
	P2PMR_UPSTREAM_MISSING=
	# shellcheck disable=SC1090
	. "$env"
	[ -z "$P2PMR_UPSTREAM_MISSING" ] ||
		p2pmr_skip "upstream $1: $P2PMR_UPSTREAM_MISSING"
}

# rdma_core_libibverbs: the libibverbs.so.1 that programs load now (the
# real file: libibverbs.so.1.<abi>.<release>).
rdma_core_libibverbs() {
	local lib

	lib=$(ldd "$(command -v ibv_devices)" |
		awk '$1 == "libibverbs.so.1" { print $3 }')
	[ -n "$lib" ] && readlink -f "$lib"
}

# use_rdma_core <44|v64>: the userspace RDMA stack of the programs this
# script runs from now on.  44: Debian's rdma-core (the default: its rxe
# provider has no reg_dmabuf_mr).  v64: upstream rdma-core v64.0 with
# providers/rdma-core-patches, built in place: LD_LIBRARY_PATH puts its
# libibverbs.so.1 first, and that libibverbs loads its providers (rxe
# with reg_dmabuf_mr) from its own build tree; its tools lead PATH.
# Fails unless the libibverbs programs then load is the one asked for.
use_rdma_core() {
	local lib want

	case $1 in
	44)
		if [ -n "${P2PMR_RDMA_CORE_V64_LIB:-}" ]; then
			LD_LIBRARY_PATH=$(echo "$LD_LIBRARY_PATH" | tr : '\n' |
				grep -vxF "$P2PMR_RDMA_CORE_V64_LIB" | paste -sd:)
			PATH=$(echo "$PATH" | tr : '\n' |
				grep -vxF "$P2PMR_RDMA_CORE_V64_BIN" | paste -sd:)
			[ -n "$LD_LIBRARY_PATH" ] || unset LD_LIBRARY_PATH
		fi
		want='/libibverbs\.so\.1\.[0-9]+\.44\.[0-9]+$'
		;;
	v64)
		upstream_env rdma-core
		export LD_LIBRARY_PATH=$P2PMR_RDMA_CORE_V64_LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
		export PATH=$P2PMR_RDMA_CORE_V64_BIN:$PATH
		want="^$(readlink -f "$P2PMR_RDMA_CORE_V64_LIB")/libibverbs\\.so\\.1\\.[0-9]+\\.64\\.0\$"
		;;
	*)
		p2pmr_fail "use_rdma_core: unknown stack $1 (44 or v64)"
		;;
	esac
	lib=$(rdma_core_libibverbs)
	echo "$lib" | grep -qE "$want" ||
		p2pmr_fail "use_rdma_core $1: programs load ${lib:-no libibverbs}"
	p2pmr_log "rdma-core $1: $lib"
}

# --- p2pmr.ko and its test importer ---------------------------------------

P2PMR_IMPORTER_CTL=/sys/kernel/debug/p2pmr_test_importer/ctl
P2PMR_IMPORTER_RESULTS=/sys/kernel/debug/p2pmr_test_importer/results
P2PMR_COUNTERS=/sys/kernel/debug/p2pmr/counters

# p2pmr_load [params...]: load this build's p2pmr.ko.
p2pmr_load() {
	[ -e /sys/module/p2pmr ] && return 0
	insmod "$P2PMR_KMOD_DIR/p2pmr/p2pmr.ko" "$@" ||
		p2pmr_fail "insmod p2pmr.ko failed"
	[ -c /dev/p2pmr ] || p2pmr_fail "p2pmr.ko loaded but /dev/p2pmr is missing"
}

importer_load() {
	[ -e /sys/module/p2pmr_test_importer ] && return 0
	insmod "$P2PMR_KMOD_DIR/p2pmr_test_importer/p2pmr_test_importer.ko" ||
		p2pmr_fail "insmod p2pmr_test_importer.ko failed"
}

P2PMR_EDU_CTL=/sys/kernel/debug/p2pmr_edu/ctl
P2PMR_EDU_RESULTS=/sys/kernel/debug/p2pmr_edu/results

# edu_load: the edu DMA driver (tests/kmod/p2pmr_edu), bound to both
# edu devices of vm-run --edu.
edu_load() {
	local d drv

	[ -e /sys/module/p2pmr_edu ] ||
		insmod "$P2PMR_KMOD_DIR/p2pmr_edu/p2pmr_edu.ko" ||
		p2pmr_fail "insmod p2pmr_edu.ko failed"
	for d in $(_pci_find_id "$P2PMR_EDU_ID"); do
		drv=$(readlink -f "/sys/bus/pci/devices/$d/driver")
		[ "${drv##*/}" = p2pmr_edu ] ||
			p2pmr_fail "p2pmr_edu did not bind $d"
	done
}

# edu_cmd <command...>: one command to the edu driver; its status is the
# write's (the errno stays in the results file as last_err).
edu_cmd() {
	echo "$*" >"$P2PMR_EDU_CTL"
}

# edu_result <slot> <field>: a field of the slot's results line.
edu_result() {
	awk -v s="$1" -v f="$2" '$1 == "slot" && $2 == s && $3 == "edu" {
		for (i = 3; i < NF; i++) if ($i == f) print $(i + 1) }' \
		"$P2PMR_EDU_RESULTS"
}

# edu_dmas <bdf>: transfers the edu device's engine has started.
edu_dmas() {
	awk -v d="$1" '$1 == "edu" && $2 == d { print $4 }' "$P2PMR_EDU_RESULTS"
}

# edu_import <slot> <resource> <offset> <length> <edu> [import-child|
# import-pinned]: export the range and import it into the slot (pattern
# base: the BAR offset), attaching with the edu (dynamic), with its child
# device, or pinned.  The export's fd closes after; the attachment keeps
# the dma-buf.
edu_import() {
	local out

	out=$(uapi_test hold --no-mmap "$2" "$3" "$4" -- bash -c \
		"echo \"${6:-import} $1 \$P2PMR_DMABUF_FD $5 $3\" >$P2PMR_EDU_CTL" \
		</dev/null 2>&1)
	grep -q '^CMD_EXIT 0' <<<"$out"
}

# edu_import_peer <slot> <resource> <offset> <length> <edu>: the edu
# imports the range of a mapping of the resource through the peer-memory
# core (peer_load first), as an HCA driver does for an ibv_reg_mr().
edu_import_peer() {
	local tool out

	tool=$(guest_test_tool peer_mem_test) || return 1
	out=$("$tool" edu "$@") || p2pmr_fail "peer_mem_test edu $* failed"
	[ "$out" = "IMPORT ok" ]
}

# edu_expect_read <slot> <offset> <length> <seed>: edu reads the range
# back through the mapping and every byte is the pattern.
edu_expect_read() {
	edu_cmd read "$@" || p2pmr_fail "read $*: $(edu_result "$1" last_err)"
	[ "$(edu_result "$1" bytes)" = $(($3)) ] &&
		[ "$(edu_result "$1" bad)" = 0 ] ||
		p2pmr_fail "read $*: $(edu_result "$1" bad) bytes differ," \
			   "first at $(edu_result "$1" first_bad)"
}

# mask_bits_below <address>: the widest DMA mask, in bits, that does not
# reach the address.
mask_bits_below() {
	local a=$(($1)) bits=0

	while [ $((a >> (bits + 1))) -ne 0 ]; do
		bits=$((bits + 1))
	done
	echo $bits
}

# edu_sg_dma <slot>: DMA address of the slot's first scatterlist entry.
edu_sg_dma() {
	awk -v s="$1" '$1 == "slot" && $2 == s && $3 == "sg" && $4 == 0 {
		print $6 }' "$P2PMR_EDU_RESULTS"
}

# edu_mask <bdf>: the DMA mask edu_cmd mask gave the edu device.
edu_mask() {
	awk -v d="$1" '$1 == "edu" && $2 == d { print $8 }' "$P2PMR_EDU_RESULTS"
}

# --- the emulated IOMMU (vm-run --iommu) -----------------------------------

# iommu_group_type <bdf>: the type of the device's IOMMU domain as sysfs
# names it (DMA, DMA-FQ, identity), or nothing without an IOMMU group.
iommu_group_type() {
	local g=/sys/bus/pci/devices/$1/iommu_group

	[ -e "$g" ] && cat "$g/type"
}

# iommu_group_of <bdf>: the number of the device's IOMMU group.
iommu_group_of() {
	local g

	g=$(readlink -f "/sys/bus/pci/devices/$1/iommu_group") &&
		basename "$g"
}

# expect_dmar_fault <Read|Write> <bdf> <address>: declare to vm-run the
# one DMAR fault the test is about to provoke: the device's DMA of that
# kind to the page holding the address.  vm-run fails the run if the
# fault never appears, or if any other one does.
expect_dmar_fault() {
	local bdf=$2 bus dev fn

	IFS=':.' read -r _ bus dev fn <<<"$bdf"
	printf '[DMA %s NO_PASID] Request device [%s:%s.%d] fault addr 0x%x\n' \
		"$1" "$bus" "$dev" "$fn" $(( $3 & ~0xfff )) \
		>>/p2pmr-out/expect-dmar
}

# dmar_fault_seen <Read|Write> <bdf> <address>: the guest kernel has logged
# that fault (as expect_dmar_fault declares it).
dmar_fault_seen() {
	local bdf=$2 bus dev fn

	IFS=':.' read -r _ bus dev fn <<<"$bdf"
	dmesg | grep -qF "$(printf '[DMA %s NO_PASID] Request device [%s:%s.%d] fault addr 0x%x [' \
		"$1" "$bus" "$dev" "$fn" $(( $3 & ~0xfff )))"
}

# uapi_test <args...>: the guest-side ABI test program.
uapi_test() {
	"$P2PMR_BUILD_DIR/tests/guest/p2pmr_uapi_test" "$@"
}

# importer_holder RES CMDS [hold options]: a "p2pmr_uapi_test hold" of
# 1 MiB at offset 1 MiB of RES that runs CMDS (bash, the dma-buf fd in
# $P2PMR_DMABUF_FD: the test importer's commands) and then takes commands
# on fd 3 (closing it ends the holder); output in /tmp/hold.out, its pid
# in $holder.
importer_holder() {
	local res=$1 cmds=$2

	shift 2
	rm -f /tmp/hold.in /tmp/hold.out
	mkfifo /tmp/hold.in
	# The holder reads the FIFO, we alone write it: closing fd 3 is its EOF.
	uapi_test hold "$@" "$res" 0x100000 0x100000 -- bash -c "$cmds" \
		</tmp/hold.in >/tmp/hold.out 2>&1 &
	holder=$!
	exec 3>/tmp/hold.in
	wait_for 20 grep -q '^CMD_EXIT' /tmp/hold.out ||
		p2pmr_fail "the holder did not start: $(cat /tmp/hold.out)"
	grep -q '^CMD_EXIT 0' /tmp/hold.out ||
		p2pmr_fail "the holder's importer commands ($cmds) failed: $(cat /tmp/hold.out)"
}

# p2pmr_counter <name>: one of p2pmr's live-object counters.
p2pmr_counter() {
	local name value

	while read -r name value _; do
		if [ "$name" = "$1" ]; then
			echo "$value"
			return 0
		fi
	done <"$P2PMR_COUNTERS"
}

# p2pmr_expect_idle: every p2pmr counter of live objects is zero (the
# peer-memory client's too, when p2pmr.ko has one).
p2pmr_expect_idle() {
	local name value

	for name in exports attachments mappings pins vmaps cpu_mmaps watches \
		    peer_regs peer_pages peer_mappings peer_invalidated; do
		value=$(p2pmr_counter $name)
		case $name in peer_*) [ -n "$value" ] || continue ;; esac
		[ "$value" = 0 ] ||
			p2pmr_fail "p2pmr counter $name is $value," \
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

# importer_attach_map <resource> <offset> <length> <importer-bdf>: export
# the range, let the test importer attach and map it in slot 0 on behalf
# of the importer (the export's fd is closed after; the attachment keeps
# the dma-buf).  Succeeds if slot 0 is mapped; prints the shell's errors.
importer_attach_map() {
	uapi_test hold "$1" "$2" "$3" -- bash -c \
		"echo \"attach 0 \$P2PMR_DMABUF_FD $4\" >$P2PMR_IMPORTER_CTL && echo 'map 0' >$P2PMR_IMPORTER_CTL" \
		</dev/null >/dev/null
	[ "$(importer_result 0 mapped)" = 1 ]
}

# expect_use_refused <resource> <importer-bdf> <change> <undo> <errno> <why>:
# hold an export of [1 MiB, +1 MiB) of the resource, attached for the
# importer in slot 0, and run the shell command <change> (a change p2pmr
# gets no event for); then a new DMA mapping must fail with -<errno> and a
# CPU fault with SIGBUS, and the kernel log must say "p2pmr: <why>: a new
# DMA mapping refused" and "...: a CPU fault refused" (<why> a grep
# pattern).  <undo> runs in any case, before the checks.
expect_use_refused() {
	local res=$1 importer=$2 change=$3 undo=$4 errno=$5 why=$6 out

	out=$(echo read | uapi_test hold "$res" 0x100000 0x100000 -- bash -c "
		echo \"attach 0 \$P2PMR_DMABUF_FD $importer\" >$P2PMR_IMPORTER_CTL &&
		$change || exit 1
		echo 'map 0' >$P2PMR_IMPORTER_CTL 2>/dev/null && echo MAP_OK ||
			echo MAP_REFUSED" 2>&1)
	eval "$undo" || p2pmr_fail "undoing '$change' failed"
	grep -q '^MAP_REFUSED' <<<"$out" ||
		p2pmr_fail "a map after '$change' was not refused: $out"
	[ "$(importer_result 0 last_err)" = "-$errno" ] ||
		p2pmr_fail "map after '$change': $(importer_result 0 last_err), not -$errno"
	grep -q '^READ SIGBUS' <<<"$out" ||
		p2pmr_fail "a CPU fault after '$change' was served: $out"
	dmesg | grep -q "p2pmr: $why: a new DMA mapping refused" &&
		dmesg | grep -q "p2pmr: $why: a CPU fault refused" ||
		p2pmr_fail "p2pmr did not log why it refused the map and the fault after '$change'"
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
	local start

	read -r start _ <<<"$(_pci_resource "$1" "$2")"
	printf '0x%016x\n' "$start"
}

# pci_io_bar_resource: the sysfs file of some I/O-port BAR in the guest.
pci_io_bar_resource() {
	local d bar flags

	for d in /sys/bus/pci/devices/*; do
		bar=0
		while [ $bar -lt 6 ] && read -r _ _ flags; do
			if (( flags & 0x100 )) && [ -e "$d/resource$bar" ]; then
				echo "$d/resource$bar"
				return 0
			fi
			bar=$((bar + 1))
		done <"$d/resource"
	done
}

# --- the peer-memory client (OFED API, testbed host) ----------------------

P2PMR_PEER_CLIENTS=/sys/kernel/debug/peer_mem_host/clients
P2PMR_PEER_KO=$P2PMR_KMOD_DIR/p2pmr_peer/p2pmr.ko

# peer_host_load [params...]: the testbed's stand-in for OFED's
# peer-memory core.
peer_host_load() {
	[ -e /sys/module/peer_mem_host ] && return 0
	insmod "$P2PMR_KMOD_DIR/peer_mem_host/peer_mem_host.ko" "$@" ||
		p2pmr_fail "insmod peer_mem_host.ko $* failed"
}

# peer_load [host params...]: the host, then p2pmr.ko built with its
# peer-memory client (it needs the host's symbols), which must register.
peer_load() {
	peer_host_load "$@"
	if [ ! -e /sys/module/p2pmr ]; then
		insmod "$P2PMR_PEER_KO" ||
			p2pmr_fail "insmod $P2PMR_PEER_KO failed"
	fi
	[ "$(cat /sys/module/p2pmr/parameters/peer_client 2>/dev/null)" = Y ] ||
		p2pmr_fail "p2pmr.ko did not register its peer-memory client"
}

# peer_rxe_setup <rdma_rxe.ko> [host params...]: the patched soft-RoCE,
# rxe0 on the NIC, then the host and the peer-enabled p2pmr.ko; prints
# the RDMA device.
peer_rxe_setup() {
	[ -n "${1:-}" ] || p2pmr_fail "no rdma_rxe.ko given"
	rxe_load_module "$1" >&2
	rxe_up rxe0 || exit 1
	shift
	peer_load "$@" >&2
}

# peer_rxe_teardown <ibdev>: undo peer_rxe_setup; every module unloads.
peer_rxe_teardown() {
	rdma link del "$1" || p2pmr_fail "rdma link del $1 failed"
	rmmod rdma_rxe || p2pmr_fail "rmmod rdma_rxe failed"
	rmmod p2pmr || p2pmr_fail "rmmod p2pmr failed"
	rmmod peer_mem_host || p2pmr_fail "rmmod peer_mem_host failed"
}

# peer_stat <name>: a statistic of p2pmr's client at the host, as OFED's
# /sys/kernel/mm/memory_peers/p2pmr/<name>.
peer_stat() {
	awk -v f="$1" '$1 == "client" && $2 == "p2pmr" {
		for (i = 3; i < NF; i++) if ($i == f) print $(i + 1) }' \
		"$P2PMR_PEER_CLIENTS"
}

# peer_expect_idle: no peer registration is left, at p2pmr or the host.
peer_expect_idle() {
	p2pmr_expect_idle
	[ "$(peer_stat live_umems)" = 0 ] &&
		[ "$(peer_stat num_alloc_mrs)" = "$(peer_stat num_dealloc_mrs)" ] &&
		[ "$(peer_stat num_reg_bytes)" = "$(peer_stat num_dereg_bytes)" ] ||
		p2pmr_fail "peer-memory host still has p2pmr ranges:" \
			   "$(cat "$P2PMR_PEER_CLIENTS")"
}

# --- Debian's ib_write_bw over soft-RoCE loopback -------------------------

# write_bw_pair <ibdev> <size> <iters> <work dir> <name> [server args...]:
# an ib_write_bw server with the extra arguments (and the environment in
# $WRITE_BW_SERVER_ENV) and a client on host memory (with the arguments in
# $WRITE_BW_CLIENT_ARGS); prints the client's
# average bandwidth in MB/s.  Both sides fill their buffers with rand()
# once connected: "DEMO <name>_client_time[_after]" lines in
# <work dir>/facts give the host side (tests/vm/lib/perftest_check.py)
# the seeds.
write_bw_pair() {
	local dev=$1 size=$2 iters=$3 work=$4 log=$5 spid rc

	shift 5
	# shellcheck disable=SC2086
	env $WRITE_BW_SERVER_ENV ib_write_bw -d "$dev" -x 1 -F -s "$size" \
		-n "$iters" "$@" >"$work/$log.server" 2>&1 &
	spid=$!
	wait_tcp_listen 18515
	echo "DEMO ${log}_client_time $(date +%s)" >>"$work/facts"
	# shellcheck disable=SC2086
	ib_write_bw -d "$dev" -x 1 -F -s "$size" -n "$iters" \
		${WRITE_BW_CLIENT_ARGS:-} "$P2PMR_GUEST_IP" \
		>"$work/$log.client" 2>&1
	rc=$?
	echo "DEMO ${log}_client_time_after $(date +%s)" >>"$work/facts"
	wait $spid || rc=1
	if [ $rc -ne 0 ]; then
		sed "s/^/  server: /" "$work/$log.server"
		sed "s/^/  client: /" "$work/$log.client"
		return 1
	fi
	awk -v s="$size" '$1 == s && NF >= 5 { print $4 }' "$work/$log.client"
}

# write_bw_bar_refused <ibdev> <size> <resource> <work dir>: ib_write_bw
# with its server buffer in --mmap=<resource> fails to register it (as
# on any system that cannot register BAR memory); shows the server's
# output.
write_bw_bar_refused() {
	local dev=$1 size=$2 res=$3 work=$4 spid rc

	# the server registers its buffer once a client has connected
	timeout 60 ib_write_bw -d "$dev" -x 1 -F -s "$size" --mmap="$res" \
		>"$work/refused.server" 2>&1 &
	spid=$!
	wait_tcp_listen 18515
	timeout 60 ib_write_bw -d "$dev" -x 1 -F -s "$size" \
		"$P2PMR_GUEST_IP" >"$work/refused.client" 2>&1
	wait $spid
	rc=$?
	sed 's/^/  | /' "$work/refused.server"
	[ $rc -ne 0 ] && [ $rc -ne 124 ] ||
		p2pmr_fail "ib_write_bw on the BAR did not fail (status $rc)"
	grep -q "Couldn't create IB resources\|failed to create mr" \
		"$work/refused.server" ||
		p2pmr_fail "ib_write_bw failed, but not at the MR"
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
	rxe_load_module "$P2PMR_KMOD_DIR/rdma_rxe/rdma_rxe.ko" >&2
	p2pmr_load >&2
	rxe_up rxe0
}

# --- two guests joined by their NICs (host.sh: vm_boot_pair) ---------------
#
# vm_boot_pair runs the same command in guest "a" (p2pmr-a, 192.0.2.1) and
# guest "b" (p2pmr-b, 192.0.2.2), whose NICs share one emulated wire, with
# P2PMR_PAIR_ROLE (a or b), P2PMR_GUEST_NAME, P2PMR_GUEST_IP,
# P2PMR_PEER_NAME, P2PMR_PEER_IP and P2PMR_PAIR_SSH_DIR (the keys the host
# made for this run) in the environment.  pair_up connects them: after it,
# "ssh $P2PMR_PEER_NAME <command>" runs a command as root in the peer.

P2PMR_PAIR_MARKS=/run/p2pmr-pair

# pair_up: the NIC up, both names in /etc/hosts, an ssh server (dropbear)
# on this guest, and the ssh client set up for the peer; returns once ssh
# to the peer works.  Takes the shell's EXIT trap: when this script exits,
# the peer gets its status (pair_wait_peer_exit).
pair_up() {
	local keys=${P2PMR_PAIR_SSH_DIR:-} role=${P2PMR_PAIR_ROLE:-}

	[ -n "${P2PMR_PEER_IP:-}" ] && [ -n "${P2PMR_PEER_NAME:-}" ] &&
		[ -n "$keys" ] ||
		p2pmr_fail "not a guest of a pair: boot it with vm_boot_pair" \
			   "(tests/vm/lib/host.sh)"
	[ -r "$keys/ssh_host_$role" ] ||
		p2pmr_fail "$keys/ssh_host_$role: no host key for guest '$role'"
	command -v dropbear >/dev/null ||
		p2pmr_skip "dropbear is not installed (dropbear-bin)"
	command -v ssh >/dev/null ||
		p2pmr_skip "ssh is not installed (openssh-client)"
	nic_up
	printf '%s %s\n' "$P2PMR_GUEST_IP" "$P2PMR_GUEST_NAME" \
		"$P2PMR_PEER_IP" "$P2PMR_PEER_NAME" >>/etc/hosts
	mkdir -p "$P2PMR_PAIR_MARKS"

	# The host's /root is not the guest's to read (9p runs as the QEMU
	# user); root's ssh files live on a tmpfs of their own.
	mount -t tmpfs -o mode=700 tmpfs /root ||
		p2pmr_fail "cannot mount a tmpfs on /root"
	mkdir -m 700 /root/.ssh
	install -m 600 "$keys/id_ed25519" "$keys/authorized_keys" \
		"$keys/known_hosts" /root/.ssh/ ||
		p2pmr_fail "cannot install the ssh keys from $keys"
	cat >/root/.ssh/config <<CONFIG
Host *
	IdentityFile /root/.ssh/id_ed25519
	UserKnownHostsFile /root/.ssh/known_hosts
	StrictHostKeyChecking yes
	BatchMode yes
	ConnectTimeout 10
	LogLevel ERROR
CONFIG
	# -s: keys only; -j -k: no port forwarding
	dropbear -r "$keys/ssh_host_$role" -p "$P2PMR_GUEST_IP:22" -s -j -k \
		-E -P /run/dropbear.pid 2>/run/dropbear.log ||
		p2pmr_fail "dropbear did not start: $(cat /run/dropbear.log)"
	trap _pair_exit EXIT
	wait_for 180 _pair_ssh_works ||
		p2pmr_fail "no ssh to $P2PMR_PEER_NAME ($P2PMR_PEER_IP) in 180 s:" \
			   "$(ssh "$P2PMR_PEER_NAME" true 2>&1)"
	p2pmr_log "pair: $P2PMR_GUEST_NAME ($P2PMR_GUEST_IP) reaches" \
		  "$P2PMR_PEER_NAME ($P2PMR_PEER_IP) over ssh"
}

# _pair_ssh_works: ssh to the peer works (quietly: pair_up polls it while
# the peer boots).
_pair_ssh_works() {
	ssh "$P2PMR_PEER_NAME" true 2>/dev/null
}

# pair_signal <name>: tell the peer that <name> happened (pair_wait).
pair_signal() {
	ssh "$P2PMR_PEER_NAME" "touch $P2PMR_PAIR_MARKS/$1" ||
		p2pmr_fail "cannot signal '$1' to $P2PMR_PEER_NAME"
}

# pair_wait <name> [seconds]: wait until the peer has signalled <name>;
# fails after that many seconds (default 300) or once the peer has exited.
pair_wait() {
	local end=$((SECONDS + ${2:-300}))

	while [ ! -e "$P2PMR_PAIR_MARKS/$1" ]; do
		[ ! -e "$P2PMR_PAIR_MARKS/peer-exit" ] ||
			p2pmr_fail "$P2PMR_PEER_NAME exited (status" \
				   "$(cat "$P2PMR_PAIR_MARKS/peer-exit")) before" \
				   "signalling '$1'"
		[ $SECONDS -lt $end ] ||
			p2pmr_fail "$P2PMR_PEER_NAME never signalled '$1'"
		sleep 0.1
	done
}

# pair_wait_peer_exit [seconds]: wait until the peer's script has exited
# (a guest that serves the other, e.g. as an MPI node, stays up until
# then); prints the peer's exit status.
pair_wait_peer_exit() {
	wait_for "${1:-600}" test -s "$P2PMR_PAIR_MARKS/peer-exit" ||
		p2pmr_fail "$P2PMR_PEER_NAME did not finish in ${1:-600} s"
	cat "$P2PMR_PAIR_MARKS/peer-exit"
}

# _pair_exit: the EXIT trap pair_up sets: pass this script's status to a
# peer that is still running.
_pair_exit() {
	local rc=$?

	[ -e "$P2PMR_PAIR_MARKS/peer-exit" ] ||
		ssh -o ConnectTimeout=5 "$P2PMR_PEER_NAME" \
			"echo $rc >$P2PMR_PAIR_MARKS/peer-exit.tmp &&
			 mv $P2PMR_PAIR_MARKS/peer-exit.tmp $P2PMR_PAIR_MARKS/peer-exit" \
			2>/dev/null
	exit $rc
}

# pair_mpirun <mpirun arguments...>: Open MPI's mpirun as root, launching
# its daemons in the peer over ssh, with its traffic on the pair's NICs;
# killed after $P2PMR_MPIRUN_TIMEOUT seconds (default 300).
pair_mpirun() {
	timeout "${P2PMR_MPIRUN_TIMEOUT:-300}" \
		mpirun --allow-run-as-root --mca plm_rsh_agent ssh \
		--mca oob_tcp_if_include "${P2PMR_GUEST_IP%.*}.0/24" \
		--mca btl_tcp_if_include "${P2PMR_GUEST_IP%.*}.0/24" "$@"
}

# --- MPI over soft-RoCE -----------------------------------------------------

# The Open MPI and UCX settings a site would use to run MPI over an RDMA
# device with the shim (README.md, "MPI"): UCX's pml and osc, no shared
# memory or TCP transports, UCX on rc_verbs over the RDMA port with
# ud_verbs for its connection setup only.  GID index 0 (the IPv6 link-
# local one): UCX's ud_verbs over rxe with the IPv4 GID (index 1) never
# gets a reply, and its endpoints time out.
P2PMR_MPI_ARGS=(--mca pml ucx --mca osc ucx --mca btl '^vader,tcp,openib,uct'
	-x 'UCX_TLS=rc_verbs,ud_verbs,self' -x UCX_IB_GID_INDEX=0)

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

# p2pmr_mpirun <rdma device> [mpirun arguments...]: two ranks, all of
# their traffic on the RDMA device's port 1: both in this guest, or, in a
# pair (after pair_up), rank 0 here and rank 1 in the peer; killed after
# P2PMR_MPIRUN_TIMEOUT seconds (default 300; status 124) rather than hang the
# guest.
p2pmr_mpirun() {
	local dev=$1

	shift
	set -- "${P2PMR_MPI_ARGS[@]}" -x UCX_NET_DEVICES="$dev:1" -np 2 "$@"
	if [ -n "${P2PMR_PAIR_ROLE:-}" ]; then
		pair_mpirun --host "$P2PMR_GUEST_NAME,$P2PMR_PEER_NAME" "$@"
	else
		timeout "${P2PMR_MPIRUN_TIMEOUT:-300}" \
			mpirun --allow-run-as-root --oversubscribe "$@"
	fi
}

# rxe_pkts <rdma device>: packets the soft-RoCE device has sent and
# received.
rxe_pkts() {
	local c=/sys/class/infiniband/$1/ports/1/hw_counters

	echo $(( $(cat "$c/sent_pkts") + $(cat "$c/rcvd_pkts") ))
}

# kprobe_count <name> <function>: count the calls of the kernel function
# <function> in the kprobe event <name> (kprobe_hits reads it), without
# filling the trace buffer.  Fails (status 1) where the kernel has no
# kprobe events (CONFIG_KPROBE_EVENTS: Debian's kernels have them, the
# debug kernel has none).
kprobe_count() {
	local tracing=/sys/kernel/tracing

	[ -e $tracing/kprobe_events ] ||
		mount -t tracefs nodev $tracing 2>/dev/null
	[ -w $tracing/kprobe_events ] || return 1
	echo "p:$1 $2" >>$tracing/kprobe_events ||
		p2pmr_fail "cannot place a kprobe on $2"
	echo 0 >$tracing/tracing_on
	echo 1 >$tracing/events/kprobes/$1/enable
}

# kprobe_hits <name>: the calls the kprobe event <name> has counted
kprobe_hits() {
	local name n rest

	while read -r name n rest; do
		[ "$name" = "$1" ] && echo "$n" && return
	done </sys/kernel/tracing/kprobe_profile
	p2pmr_fail "no kprobe event $1"
}
