#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The demo, guest side (tests/vm/demo.sh boots it and checks the host
# file behind the BAR afterwards): Debian's unmodified ib_write_bw puts
# its server buffer in a PCI BAR with --mmap=.../resource2.  Stock, that
# fails; with libp2pmr-shim.so preloaded it runs over soft-RoCE loopback,
# and its bandwidth is shown next to a run into host memory.
#
# Lines starting with "DEMO " are facts for the host side.
. "$(dirname "$0")/lib.sh"

size=65536
iters=${P2PMR_DEMO_ITERS:-2000}
work=$(mktemp -d)

step() {
	echo
	echo "== $*"
}

# bw_pair <log prefix> <server args...>: a server with the given extra
# arguments (and the environment in $server_env) and a client
# on host memory; prints the client's average bandwidth in MB/s.
bw_pair() {
	local log=$1 spid rc
	shift

	# shellcheck disable=SC2086
	env $server_env ib_write_bw -d "$dev" -x 1 -F -s $size -n "$iters" \
		"$@" >"$work/$log.server" 2>&1 &
	spid=$!
	# both sides fill their buffers with rand() once connected: the host
	# side (perftest_check.py) knows how
	wait_tcp_listen 18515
	echo "DEMO ${log}_client_time $(date +%s)" >>"$work/facts"
	ib_write_bw -d "$dev" -x 1 -F -s $size -n "$iters" \
		"$P2PMR_GUEST_IP" >"$work/$log.client" 2>&1
	rc=$?
	echo "DEMO ${log}_client_time_after $(date +%s)" >>"$work/facts"
	wait $spid || rc=1
	if [ $rc -ne 0 ]; then
		sed "s/^/  server: /" "$work/$log.server"
		sed "s/^/  client: /" "$work/$log.client"
		return 1
	fi
	awk -v s=$size '$1 == s && NF >= 5 { print $4 }' "$work/$log.client"
}

step "1. The testbed: PCIe topology of the guest"
lspci -tv

dev=$(p2pmr_rxe_setup) || exit 1
near=$(pci_near_ivshmem)
[ -n "$near" ] || p2pmr_fail "no near ivshmem device"
res=/sys/bus/pci/devices/$near/resource2
shim=$(p2pmr_shim) || exit 1
echo "soft-RoCE $dev on $(nic_netdev) ($(pci_nic)); GPU stand-in: ivshmem $near BAR2 ($res)"

step "2. p2pmr topo: which BARs $dev reaches peer to peer"
echo "\$ p2pmr topo"
"$(p2pmr_tool p2pmr)" topo || p2pmr_fail "p2pmr topo failed"

step "3. Stock: ib_write_bw --mmap=$res (server), no shim"
echo "\$ ib_write_bw -d $dev -x 1 -F -s $size --mmap=$res"
# the server registers its buffer once a client has connected
timeout 60 ib_write_bw -d "$dev" -x 1 -F -s $size --mmap="$res" \
	>"$work/stock.server" 2>&1 &
spid=$!
sleep 1
timeout 60 ib_write_bw -d "$dev" -x 1 -F -s $size "$P2PMR_GUEST_IP" \
	>"$work/stock.client" 2>&1
wait $spid
rc=$?
sed 's/^/  | /' "$work/stock.server"
[ $rc -ne 0 ] && [ $rc -ne 124 ] ||
	p2pmr_fail "ib_write_bw on the BAR did not fail without the shim (status $rc)"
grep -q "Couldn't create IB resources\|failed to create mr" "$work/stock.server" ||
	p2pmr_fail "ib_write_bw failed, but not at the MR"
echo "-> fails as on any stock system: the kernel cannot pin BAR pages (EFAULT)"
echo "DEMO stock_failed 1"

step "4. The same command with LD_PRELOAD=libp2pmr-shim.so; client on host memory"
echo "\$ LD_PRELOAD=$shim ib_write_bw -d $dev -x 1 -F -s $size -n $iters --mmap=$res"
echo "DEMO bar_server_time $(date +%s)" >>"$work/facts"
server_env="LD_PRELOAD=$shim P2PMR_DEBUG=2"
bar_bw=$(bw_pair bar --mmap="$res") ||
	p2pmr_fail "ib_write_bw into the BAR failed with the shim"
sed -n 's/^p2pmr: \(shim:.*\)/  | \1/p; /^allocated mmap/s/^/  | /p' \
	"$work/bar.server"
grep -q "shim: .* is device memory: dma-buf MR" "$work/bar.server" ||
	p2pmr_fail "the server's buffer was not registered as device memory"
sed 's/^/  | /' "$work/bar.client" | grep -E "bytes|^  \| +$size"
echo "-> ib_write_bw wrote into the BAR: $bar_bw MB/s"
p2pmr_expect_idle

step "5. For comparison: the server buffer in host memory (shim preloaded)"
host_bw=$(bw_pair host) || p2pmr_fail "ib_write_bw into host memory failed"
sed 's/^/  | /' "$work/host.client" | grep -E "bytes|^  \| +$size"
echo "-> into host memory: $host_bw MB/s"

cat "$work/facts"
echo "DEMO size $size"
echo "DEMO bar_bw $bar_bw"
echo "DEMO host_bw $host_bw"
rm -rf "$work"
echo "demo guest side ok"
