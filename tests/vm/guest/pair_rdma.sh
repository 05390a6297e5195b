#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Two guests, one wire (tests/vm/cases/pair_rdma.sh boots them with
# vm_boot_pair and checks each guest's BAR file afterwards): soft-RoCE on
# each guest's NIC, then Debian's unmodified ib_write_bw, bidirectional
# (-b), RC over the emulated network, with each side's buffer in its own
# near ivshmem BAR (--mmap=.../resource2) through the verbs shim.  So each
# guest's BAR receives the other guest's data.
#
# Guest b runs the server, guest a the client.  Lines starting with
# "PAIR " are facts for the host side: perftest seeds rand() with
# time(NULL) in each guest, and the host needs the window of those times.
. "$(dirname "$0")/lib.sh"

size=65536
iters=${P2PMR_PAIR_ITERS:-200}
port=18515
work=$(mktemp -d)

dev=$(p2pmr_rxe_setup) || exit 1
pair_up
near=$(pci_near_ivshmem)
[ -n "$near" ] || p2pmr_fail "no near ivshmem device"
res=/sys/bus/pci/devices/$near/resource2
shim=$(p2pmr_shim) || exit 1
p2pmr_log "$P2PMR_GUEST_NAME: $dev on $(nic_netdev), buffer in the near" \
	  "BAR2 of $near"

# -u 20: a 4 s ACK timeout in place of perftest's 67 ms (-u 14).  Two
# TCG guests beside other tests can take longer than 67 ms to ACK; the
# spurious go-back-N retry then runs into 6.1 soft-RoCE's duplicate
# handling, which NAKs the retried WRITEs (IBV_WC_REM_INV_REQ_ERR, seen in
# one run of two with another suite beside it).
bw=(ib_write_bw -d "$dev" -x 1 -F -b -s $size -n "$iters" -p $port -u 20
    --mmap="$res")
echo "PAIR time_before $(date +%s)"
if [ "$P2PMR_PAIR_ROLE" = b ]; then
	LD_PRELOAD=$shim P2PMR_DEBUG=2 timeout 300 "${bw[@]}" \
		>"$work/bw" 2>&1 &
	bw_pid=$!
	wait_tcp_listen $port
	pair_signal server-listening
	wait $bw_pid
	rc=$?
else
	pair_wait server-listening
	LD_PRELOAD=$shim P2PMR_DEBUG=2 timeout 300 "${bw[@]}" \
		"$P2PMR_PEER_IP" >"$work/bw" 2>&1
	rc=$?
fi
echo "PAIR time_after $(date +%s)"
sed 's/^/  | /' "$work/bw"
[ $rc -eq 0 ] || p2pmr_fail "ib_write_bw exited $rc"
grep -q "shim: .* is device memory: dma-buf MR" "$work/bw" ||
	p2pmr_fail "the buffer was not registered as device memory"
grep -Eq "^ +$size +$iters " "$work/bw" ||
	p2pmr_fail "ib_write_bw reported no $size-byte result"
p2pmr_expect_idle
echo "PAIR size $size"
rm -rf "$work"
# the host reads our BAR file only once both guests are done
[ "$P2PMR_PAIR_ROLE" = a ] || pair_wait_peer_exit >/dev/null
echo "pair_rdma guest $P2PMR_PAIR_ROLE ok"
