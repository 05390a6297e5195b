#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# usage: p2pmr_stress.sh [seconds]
#
# Several processes export (by fd and by address), mmap, write, attach,
# map, detach and close in a loop for a bounded time, on both ivshmem
# BARs at once.  Afterwards every counter is zero (nothing leaked), the
# kernel log is clean (the harness checks it), and rmmod succeeds - while
# it refused cleanly when a dma-buf was still open.
. "$(dirname "$0")/lib.sh"

seconds=${1:-20}
p2pmr_load
importer_load
nic=$(pci_nic)
ctl=$P2PMR_IMPORTER_CTL
near=/sys/bus/pci/devices/$(pci_near_ivshmem)/resource2
far=/sys/bus/pci/devices/$(pci_far_ivshmem)/resource2

# A module with a live export cannot go: rmmod fails, nothing breaks.
uapi_test hold "$near" 0 0x1000 -- bash -c \
	'rmmod p2pmr 2>/tmp/rmmod.err && exit 1; exit 0' </dev/null >/tmp/hold.out ||
	p2pmr_fail "rmmod p2pmr succeeded while a dma-buf was open"
grep -q "in use" /tmp/rmmod.err ||
	p2pmr_fail "rmmod with a live export failed oddly: $(cat /tmp/rmmod.err)"
echo "ok - rmmod p2pmr refused while a dma-buf is open: $(cat /tmp/rmmod.err)"

# worker <id>: loop until the deadline; each pass uses its own 64 KiB of
# BAR and its own importer slot.
worker() {
	local id=$1 end=$2 off=$(( $1 * 0x10000 )) n=0 res want out

	while [ "$(date +%s)" -lt "$end" ]; do
		# The far BAR has no P2P path to the NIC: attach must fail.
		res=$near want="CMD_EXIT 0"
		[ $((n % 3)) -eq 2 ] && res=$far want="CMD_EXIT 1"
		uapi_test fill "$res" $off 0x10000 $((id * 1000 + n)) >/dev/null ||
			{ echo "worker $id: fill failed"; return 1; }
		uapi_test check --by-va "$res" $off 0x10000 $((id * 1000 + n)) \
			>/dev/null ||
			{ echo "worker $id: check by address failed"; return 1; }
		out=$(uapi_test hold "$res" $off 0x10000 -- bash -c \
			"echo \"attach $id \$P2PMR_DMABUF_FD $nic\" >$ctl &&
			 echo 'map $id' >$ctl && echo 'unmap $id' >$ctl;
			 s=\$?; echo 'detach $id' >$ctl; exit \$s" \
			</dev/null 2>/dev/null)
		[[ "$out" == *"$want"* ]] ||
			{ echo "worker $id: attach of $res: $out"; return 1; }
		n=$((n + 1))
	done
	echo "worker $id: $n passes"
}

end=$(( $(date +%s) + seconds ))
pids=()
for id in 0 1 2 3; do
	worker $id $end >/tmp/worker.$id 2>&1 &
	pids+=($!)
done
status=0
for pid in "${pids[@]}"; do
	wait "$pid" || status=1
done
cat /tmp/worker.*
[ $status -eq 0 ] || p2pmr_fail "a worker failed"
echo reset >$ctl
p2pmr_expect_idle
echo "ok - counters at zero after the stress: $(tr '\n' ' ' <"$P2PMR_COUNTERS")"
rmmod p2pmr_test_importer || p2pmr_fail "rmmod p2pmr_test_importer failed"
rmmod p2pmr || p2pmr_fail "rmmod p2pmr failed after the stress"
echo "p2pmr stress ok"
