#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The two-guest harness, guest side (tests/vm/cases/pair_harness.sh checks
# the results from the host): each guest has its own name, address, MAC
# and BAR file, reaches the other by name over ssh, and the two sync with
# pair_signal / pair_wait.  Then guest a exits 3, and guest b, waiting for
# a signal that never comes, must be released at once with a's status.
. "$(dirname "$0")/lib.sh"

case "$P2PMR_PAIR_ROLE" in
a) seed=71 ;;
b) seed=72 ;;
*) p2pmr_fail "P2PMR_PAIR_ROLE is '$P2PMR_PAIR_ROLE', not a or b" ;;
esac
pattern=$(p2pmr_tool p2pmr-pattern) || exit 1
near=$(pci_near_ivshmem)
[ -n "$near" ] || p2pmr_fail "no near ivshmem device"
# the host finds this seed in this guest's BAR file only
"$pattern" fill "/sys/bus/pci/devices/$near/resource2" 0 0x10000 $seed ||
	p2pmr_fail "cannot write the near BAR through its sysfs mapping"

pair_up
[ "$(hostname)" = "$P2PMR_GUEST_NAME" ] ||
	p2pmr_fail "host name $(hostname), not $P2PMR_GUEST_NAME"
peer_name=$(ssh "$P2PMR_PEER_NAME" hostname) || p2pmr_fail "ssh hostname failed"
[ "$peer_name" = "$P2PMR_PEER_NAME" ] ||
	p2pmr_fail "ssh $P2PMR_PEER_NAME reached $peer_name"
dev=$(nic_netdev)
peer_mac=$(ssh "$P2PMR_PEER_NAME" cat "/sys/class/net/$dev/address")
[ -n "$peer_mac" ] && [ "$peer_mac" != "$(cat "/sys/class/net/$dev/address")" ] ||
	p2pmr_fail "the peer's NIC has MAC '$peer_mac', the same as ours"
ip -4 addr show "$dev" | grep -q "inet $P2PMR_GUEST_IP/24" ||
	p2pmr_fail "$dev lacks $P2PMR_GUEST_IP/24"
echo "PAIR $P2PMR_PAIR_ROLE is $P2PMR_GUEST_NAME $P2PMR_GUEST_IP, peer" \
     "$peer_name, MACs differ"

if [ "$P2PMR_PAIR_ROLE" = a ]; then
	pair_signal hello
	pair_wait ack 120
	echo "PAIR a synced with b; exiting 3"
	exit 3
fi
pair_wait hello 120
pair_signal ack
echo "PAIR b synced with a; waiting for a signal a never sends"
pair_wait never 600
