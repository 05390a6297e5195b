#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The verbs shim under an unmodified program (tests/guest/shim_mr_test,
# plain libibverbs) on the near ivshmem BAR over soft-RoCE loopback.
#
# usage: shim_mr.sh mixed|stale|off|rereg
#   mixed  BAR and host MRs on one PD, RDMA WRITE/READ, SEND/RECV ping-pong
#          in the BAR; leaves seed 11 at BAR [1 MiB, 2 MiB) for the host
#   stale  BAR MR, munmap, host memory MAP_FIXED at the same address: a
#          host MR; leaves seed 21 at BAR [4 MiB, 5 MiB), and seed 22 must
#          not reach the BAR
#   off    P2PMR_SHIM=0, and no shim at all: ibv_reg_mr on the BAR fails
#          with EFAULT, as on a stock system
#   rereg  ibv_rereg_mr of a BAR MR fails with EOPNOTSUPP
#   cache  libp2pmr's export cache (shim_mr_test cache), and a count of
#          the kernel's checks (kprobes): leaves seeds 51,
#          52, 53, 55, 56 at BAR [12, 13), [13, 14), [14, 15), [15, 16),
#          [16, 17) MiB (56 from a child after fork()); seed 54 goes to
#          host memory mapped where the BAR was
#   dmabuf plain ibv_reg_mr() on mappings of a dma-buf of the BAR
#          (shim_mr_test dmabuf): leaves seed 61 at BAR [19, 20) MiB and
#          seed 62 at [18 MiB + 2 KiB, 19 MiB - 2 KiB); then the same on
#          the NVMe CMB (nvme unbound), checked through its mappings
#   cuda   plain ibv_reg_mr() on cuMemAlloc() memory of the CUDA stand-in
#          (tests/cuda_stub, device memory in the BAR from 20 MiB on):
#          leaves seed 71 at BAR [21, 22) MiB and seed 72 at
#          [20 MiB + 2 KiB, 21 MiB - 2 KiB)
#   rocm   the same on memory of the ROCm (HSA) stand-in's GPU pool
#          (tests/rocm_stub, device memory from 24 MiB on): leaves seed
#          81 at BAR [25, 26) MiB and seed 82 at
#          [24 MiB + 2 KiB, 25 MiB - 2 KiB)
#   bind   mixed, through the resource file bind-mounted elsewhere (as in
#          a container: /proc/self/maps shows no sysfs path, the kernel
#          is asked); leaves seed 31 at BAR [8 MiB, 9 MiB)
#   atomic a BAR MR with remote atomics, which soft-RoCE refuses on device
#          memory: EOPNOTSUPP and a message saying what to do; with
#          P2PMR_DROP_REMOTE_ATOMIC=1 registered without them
. "$(dirname "$0")/lib.sh"

case=${1:-}
dev=$(p2pmr_rxe_setup) || exit 1
near=$(pci_near_ivshmem)
[ -n "$near" ] || p2pmr_fail "no near ivshmem device"
res=/sys/bus/pci/devices/$near/resource2
shim=$(p2pmr_shim) || exit 1
t=$P2PMR_BUILD_DIR/tests/guest/shim_mr_test
[ -x "$t" ] || p2pmr_fail "$t is not built"
p2pmr_log "$dev on $(nic_netdev); BAR $res; shim $shim"

# device_mrs <cmd> <runtime> <library> <offset> <seed>: shim_mr_test
# <cmd> on the stand-in of tests/<cmd>_stub, whose device memory is the
# BAR from <offset> on; the registrations must go through the runtime's
# dma-buf export and the one past the allocation be explained.
device_mrs() {
	local cmd=$1 rt=$2 lib=$3 off=$4 seed=$5 stub prefix out rc

	stub=$P2PMR_BUILD_DIR/tests/${cmd}_stub
	prefix=P2PMR_${cmd^^}_STUB
	[ -e "$stub/$lib" ] || p2pmr_fail "$stub/$lib is not built"
	out=$(env P2PMR_DEBUG=2 LD_LIBRARY_PATH="$stub" "${prefix}_RESOURCE=$res" \
		"${prefix}_OFFSET=$off" LD_PRELOAD="$shim" \
		"$t" "$cmd" -d "$dev" -P "$res" -o "$off" -l 0x100000 \
		-s "$seed" 2>&1)
	rc=$?
	echo "$out" | tail -n 60
	[ $rc -eq 0 ] || p2pmr_fail "ibv_reg_mr on $rt device memory"
	echo "$out" | grep -q "is $rt device memory" ||
		p2pmr_fail "the registrations did not go through $rt"
	echo "$out" | grep -q "runs past its $rt allocation" ||
		p2pmr_fail "the refused range past the allocation was not explained"
	echo "ok the registrations went through $rt's dma-buf export"
}

case "$case" in
mixed)
	LD_PRELOAD=$shim "$t" mixed -d "$dev" -P "$res" \
		-o 0x100000 -l 0x100000 -s 11 -n 200 ||
		p2pmr_fail "mixed host and BAR MRs through the shim"
	;;
stale)
	LD_PRELOAD=$shim "$t" stale -d "$dev" -P "$res" \
		-o 0x400000 -l 0x100000 -s 21 ||
		p2pmr_fail "stale classification"
	;;
off)
	P2PMR_SHIM=0 LD_PRELOAD=$shim "$t" refuse -d "$dev" -P "$res" \
		-l 0x10000 -e EFAULT ||
		p2pmr_fail "P2PMR_SHIM=0 did not turn the shim off"
	"$t" refuse -d "$dev" -P "$res" -l 0x10000 -e EFAULT ||
		p2pmr_fail "without the shim, ibv_reg_mr of a BAR did not fail as stock does"
	;;
rereg)
	out=$(P2PMR_DEBUG=1 LD_PRELOAD=$shim "$t" rereg -d "$dev" -P "$res" \
		-l 0x10000 2>&1)
	rc=$?
	echo "$out"
	[ $rc -eq 0 ] || p2pmr_fail "ibv_rereg_mr of a BAR MR"
	echo "$out" | grep -q "ibv_rereg_mr of MR .* refused" ||
		p2pmr_fail "the refusal was not logged"
	echo "ok the refusal is logged (P2PMR_DEBUG=1)"
	;;
bind)
	bound=$(mktemp /run/p2pmr-bar.XXXXXX)
	mount --bind "$res" "$bound" || p2pmr_fail "mount --bind $res"
	out=$(P2PMR_DEBUG=2 LD_PRELOAD=$shim "$t" mixed -d "$dev" -P "$bound" \
		-o 0x800000 -l 0x100000 -s 31 -n 20 2>&1)
	rc=$?
	umount "$bound"
	rm -f "$bound"
	echo "$out"
	[ $rc -eq 0 ] || p2pmr_fail "mixed MRs through the bind-mounted BAR"
	echo "$out" | grep -q "a BAR mapping the kernel knows" ||
		p2pmr_fail "the BAR was not found by asking the kernel"
	echo "ok the bind-mounted BAR was found by asking the kernel"
	;;
cache)
	# the kernel's checks of kept exports: one per mapping while its
	# watch stands, not one per registration
	probes=true
	if kprobe_count p2pmr_check p2pmr_ioctl_check_va; then
		kprobe_count p2pmr_watch p2pmr_ioctl_watch_va
	else
		probes=false
		p2pmr_log "no kprobe events: the kernel's checks are not counted"
	fi
	LD_PRELOAD=$shim "$t" cache -d "$dev" -P "$res" \
		-o 0xc00000 -l 0x100000 -s 51 -n 100 ||
		p2pmr_fail "the export cache"
	if $probes; then
		checks=$(kprobe_hits p2pmr_check)
		watches=$(kprobe_hits p2pmr_watch)
		[ "$watches" -ge 1 ] ||
			p2pmr_fail "no WATCH_VA: the kept exports were not watched"
		[ $((checks + watches)) -lt 50 ] ||
			p2pmr_fail "$checks CHECK_VA and $watches WATCH_VA calls for 100 registrations in one kept export's mapping and a dozen others"
		echo "ok the whole run asked the kernel $checks CHECK_VA and $watches WATCH_VA, 100 registrations in one mapping included"
	fi
	;;
dmabuf)
	out=$(P2PMR_DEBUG=1 LD_PRELOAD=$shim "$t" dmabuf -d "$dev" -P "$res" \
		-o 0x1200000 -l 0x100000 -s 61 2>&1)
	rc=$?
	echo "$out"
	[ $rc -eq 0 ] || p2pmr_fail "ibv_reg_mr on dma-buf mappings"
	echo "$out" | grep -q "dma-buf behind .*: Permission denied (map the dma-buf MAP_SHARED, with PROT_WRITE" ||
		p2pmr_fail "the refused writable MR of a read-only mapping was not explained"
	echo "ok the refusal says what to do (P2PMR_DEBUG=1)"
	# the same on a dma-buf of the NVMe CMB, read back through mappings
	nvme=$(pci_nvme)
	[ -n "$nvme" ] || p2pmr_fail "no NVMe controller"
	echo "$nvme" >"/sys/bus/pci/devices/$nvme/driver/unbind" ||
		p2pmr_fail "cannot unbind nvme from $nvme"
	LD_PRELOAD=$shim "$t" dmabuf -d "$dev" \
		-P "/sys/bus/pci/devices/$nvme/resource2" \
		-o 0x200000 -l 0x100000 -s 63 ||
		p2pmr_fail "ibv_reg_mr on dma-buf mappings of the CMB"
	;;
cuda)
	device_mrs cuda CUDA libcuda.so.1 0x1400000 71
	;;
rocm)
	device_mrs rocm ROCm libhsa-runtime64.so.1 0x1800000 81
	;;
atomic)
	out=$(P2PMR_DEBUG=1 LD_PRELOAD=$shim "$t" refuse -d "$dev" -P "$res" \
		-l 0x10000 -A -e EOPNOTSUPP 2>&1)
	rc=$?
	echo "$out"
	[ $rc -eq 0 ] || p2pmr_fail "a BAR MR with remote atomics"
	echo "$out" | grep -q "takes no remote atomics on device memory.*P2PMR_DROP_REMOTE_ATOMIC=1" ||
		p2pmr_fail "the refusal does not say what to do"
	echo "ok the refusal says what to do (P2PMR_DEBUG=1)"
	P2PMR_DROP_REMOTE_ATOMIC=1 LD_PRELOAD=$shim "$t" mixed -d "$dev" \
		-P "$res" -o 0x100000 -l 0x100000 -s 41 -n 20 -A ||
		p2pmr_fail "P2PMR_DROP_REMOTE_ATOMIC=1 did not register the BAR"
	;;
*)
	p2pmr_fail "usage: $0 mixed|stale|off|rereg|bind|cache|dmabuf|cuda|rocm|atomic"
	;;
esac
p2pmr_expect_idle
echo "ok p2pmr has no live exports left"
echo "shim_mr $case ok"
