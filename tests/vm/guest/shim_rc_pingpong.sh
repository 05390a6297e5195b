#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Debian's unmodified ibv_rc_pingpong, server and client over soft-RoCE
# loopback on rxe0, with the verbs shim preloaded into both.  Its buffer
# is host memory (malloc'd by ibv_rc_pingpong itself): the shim must pass
# the registration through to libibverbs untouched, and the ping-pong must
# pass as it does without the shim.
. "$(dirname "$0")/lib.sh"

command -v ibv_rc_pingpong >/dev/null ||
	p2pmr_skip "ibv_rc_pingpong is not installed (ibverbs-utils)"
dev=$(p2pmr_rxe_setup) || exit 1
shim=$(p2pmr_shim) || exit 1
work=$(mktemp -d)
port=18515
p2pmr_log "$dev on $(nic_netdev); shim $shim"

# server in the background, then the client; -g 1: the RoCEv2 IPv4 GID
P2PMR_DEBUG=2 LD_PRELOAD=$shim timeout 60 \
	ibv_rc_pingpong -d "$dev" -g 1 -p $port -n 500 -s 4096 \
	>"$work/server" 2>&1 &
spid=$!
wait_tcp_listen $port
P2PMR_DEBUG=2 LD_PRELOAD=$shim timeout 60 \
	ibv_rc_pingpong -d "$dev" -g 1 -p $port -n 500 -s 4096 \
	"$P2PMR_GUEST_IP" >"$work/client" 2>&1
crc=$?
wait $spid
src=$?
sed 's/^/  server: /' "$work/server"
sed 's/^/  client: /' "$work/client"
[ $src -eq 0 ] || p2pmr_fail "ibv_rc_pingpong server exited $src"
[ $crc -eq 0 ] || p2pmr_fail "ibv_rc_pingpong client exited $crc"
for side in server client; do
	grep -q "shim: on" "$work/$side" ||
		p2pmr_fail "$side: the shim was not loaded (no 'shim: on')"
	grep -Eq "^[0-9]+ bytes in .* seconds = .*Mbit/sec" "$work/$side" ||
		p2pmr_fail "$side: no bandwidth line"
	grep -Eq "^500 iters in " "$work/$side" ||
		p2pmr_fail "$side: not 500 iterations"
	grep -q "is device memory" "$work/$side" &&
		p2pmr_fail "$side: the shim took host memory for device memory"
done
p2pmr_expect_idle
rm -rf "$work"
echo "shim_rc_pingpong ok: host memory passed through the shim"
