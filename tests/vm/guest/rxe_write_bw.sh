#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Soft-RoCE works in the testbed: ib_write_bw, server and client on the
# same rxe device (rxe loops the packets back), on host memory.
. "$(dirname "$0")/lib.sh"

command -v ib_write_bw >/dev/null || p2pmr_fail "ib_write_bw missing (perftest)"
dev=$(rxe_up rxe0) || exit 1
p2pmr_log "soft-RoCE device $dev on $(nic_netdev)"

server_log=/tmp/ib_write_bw.server
timeout 120 ib_write_bw -d "$dev" -x 1 -s 65536 -n 200 -F \
	>"$server_log" 2>&1 &
server=$!
sleep 1
timeout 120 ib_write_bw -d "$dev" -x 1 -s 65536 -n 200 -F "$P2PMR_GUEST_IP" \
	>/tmp/ib_write_bw.client 2>&1
client_rc=$?
wait $server
server_rc=$?
sed 's/^/client: /' /tmp/ib_write_bw.client
sed 's/^/server: /' "$server_log"
[ $client_rc -eq 0 ] || p2pmr_fail "ib_write_bw client exited with $client_rc"
[ $server_rc -eq 0 ] || p2pmr_fail "ib_write_bw server exited with $server_rc"
# The result row: bytes, iterations, peak, average bandwidth, msg rate.
grep -Eq '^[[:space:]]*65536[[:space:]]+200[[:space:]]+[0-9.]+[[:space:]]+[0-9.]+' \
	/tmp/ib_write_bw.client ||
	p2pmr_fail "ib_write_bw printed no result row for 65536-byte messages"
echo "ib_write_bw over $dev ok"
