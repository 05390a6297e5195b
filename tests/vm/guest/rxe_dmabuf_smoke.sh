#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The dma-buf patched soft-RoCE driver: no regression on host memory, and
# dma-buf MR registration reaches the driver and refuses bad input.
#
# usage: rxe_dmabuf_smoke.sh <rdma_rxe.ko | stock> [rxe_dmabuf_reg]
#
# <rdma_rxe.ko> is the patched module (kernel/rxe-dmabuf/prepare.sh);
# "stock" runs the same checks on Debian's rdma_rxe, where every dma-buf
# registration fails with EOPNOTSUPP in the uverbs core.  rxe_dmabuf_reg
# (tests/guest/rxe_dmabuf_reg.c) is taken from the build tree, or built
# here when it is not there.
. "$(dirname "$0")/lib.sh"

module=${1:-}
reg=${2:-}
[ -n "$module" ] || p2pmr_fail "usage: $0 <rdma_rxe.ko | stock> [rxe_dmabuf_reg]"
for t in ib_write_bw ib_read_bw; do
	command -v $t >/dev/null || p2pmr_fail "$t missing (perftest)"
done

[ -n "$reg" ] || reg=$(guest_test_tool rxe_dmabuf_reg) || exit 1

if [ "$module" = stock ]; then
	modprobe rdma_rxe || p2pmr_fail "modprobe rdma_rxe failed"
	patched=
else
	rxe_load_module "$module"
	grep -qw rxe_mr_init_dmabuf /proc/kallsyms ||
		p2pmr_fail "$module is not the dma-buf patched rdma_rxe"
	patched=1
fi
dev=$(rxe_up rxe0) || exit 1
p2pmr_log "soft-RoCE device $dev on $(nic_netdev), ${patched:+patched }rdma_rxe"

# Host-memory RDMA write and read, server and client on one rxe device.
for t in ib_write_bw ib_read_bw; do
	timeout 120 $t -d "$dev" -x 1 -s 65536 -n 200 -F >/tmp/$t.server 2>&1 &
	server=$!
	wait_tcp_listen 18515
	timeout 120 $t -d "$dev" -x 1 -s 65536 -n 200 -F "$P2PMR_GUEST_IP" \
		>/tmp/$t.client 2>&1
	client_rc=$?
	wait $server
	server_rc=$?
	if [ $client_rc -ne 0 ] || [ $server_rc -ne 0 ]; then
		sed 's/^/client: /' /tmp/$t.client
		sed 's/^/server: /' /tmp/$t.server
		p2pmr_fail "$t: client exited with $client_rc, server with $server_rc"
	fi
	grep -Eq '^[[:space:]]*65536[[:space:]]+200[[:space:]]+[0-9.]+[[:space:]]+[0-9.]+' \
		/tmp/$t.client ||
		p2pmr_fail "$t printed no result row for 65536-byte messages"
	echo "ok $t over $dev: $(grep -E '^[[:space:]]*65536' /tmp/$t.client)"
done

failed=0
# reg_row <expected errno (patched)> <dmesg line expected or ""> <args...>
reg_row() {
	local expect=$1 log=$2 out seen
	shift 2

	[ -n "$patched" ] || { expect=EOPNOTSUPP; log=; }
	seen=$(dmesg | wc -l)
	if out=$("$reg" -e "$expect" "$@" 2>&1); then
		if [ -n "$log" ] &&
		   ! dmesg | tail -n +$((seen + 1)) | grep -q "$log"; then
			echo "not ok $*: no kernel log line '$log'"
			failed=1
			return
		fi
		echo "ok $expect: $out"
	else
		echo "not ok $*:"
		printf '    %s\n' "$out"
		failed=1
	fi
}

# Negative rows: the driver must see them (EBADF comes from dma_buf_get()).
reg_row EBADF "" -d "$dev" -f -1
reg_row EINVAL "" -d "$dev" -F /dev/null
reg_row EINVAL "" -d "$dev" -f -1 -l 0
reg_row EINVAL "" -d "$dev" -f -1 -o 0xfffffffffffff000 -l 0x2000
reg_row EINVAL "" -d "$dev" -f -1 -i 0xfffffffffffff000 -l 0x2000
reg_row EINVAL "" -d "$dev" -f -1 -o 1 -i 2
reg_row EOPNOTSUPP "remote atomic access to dma-buf MRs is not supported" \
	-d "$dev" -f -1 -a local_write,remote_atomic

# An rxe device over a netdev with no PCI device beneath it cannot import.
modprobe veth || p2pmr_fail "modprobe veth failed"
ip link add rxe_veth0 type veth peer name rxe_veth1 ||
	p2pmr_fail "cannot create a veth pair"
rdma link add rxe_veth type rxe netdev rxe_veth0 ||
	p2pmr_fail "rdma link add rxe_veth failed"
reg_row EOPNOTSUPP "no PCI device beneath rxe_veth0" -d rxe_veth -f -1

# Tear down: deleting the links and unloading the module must be clean.
rdma link del rxe_veth || p2pmr_fail "rdma link del rxe_veth failed"
rdma link del "$dev" || p2pmr_fail "rdma link del $dev failed"
rmmod rdma_rxe || p2pmr_fail "rmmod rdma_rxe failed"

[ $failed -eq 0 ] || p2pmr_fail "some dma-buf registration rows failed"
if [ -n "$patched" ]; then kind=patched; else kind=stock; fi
echo "rxe dma-buf smoke test over $dev ok ($kind rdma_rxe)"
