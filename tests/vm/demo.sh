#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The demo (./run.sh demo), and the VM test vm.demo: boot the testbed,
# run Debian's unmodified ib_write_bw with its server buffer in a PCI BAR
# (tests/vm/guest/demo.sh), then show from the host, in the file behind
# that BAR, the bytes the client wrote.  Exits nonzero if any step fails.
#
# usage: demo.sh [--kernel VER] [--stack v64]
#   --kernel VER  boot that kernel instead of the default one (a version
#                 or a line, as vm-run --kernel)
#   --stack v64   rdma-core v64 and perftest 26.04.17 (built by
#                 scripts/upstream-build.sh) instead of Debian's rdma-core
#                 44 and perftest (tests/vm/guest/demo.sh)
if [ "${1:-}" = --kernel ] && [ -n "${2:-}" ]; then
	export P2PMR_KERNEL=$2
	shift 2
fi
. "$(dirname "$0")/lib/host.sh"

start=$(date +%s.%N)
if [ "${1:-}" = --stack ] && [ "${2:-}" = v64 ]; then
	upstream_host_env rdma-core
	upstream_host_env perftest
elif [ $# -ne 0 ]; then
	fail "usage: $0 [--kernel VER] [--stack v64]"
fi
new_run_dir
vm_boot --timeout 300 -- "$GUEST_DIR/demo.sh" "$@"
[ "$VM_RC" -eq 0 ] || fail "guest side failed (status $VM_RC)"

size=$(guest_fact size)
[ -n "$size" ] || fail "the guest reported no facts"
echo
echo "== 6. On the host: the file behind the BAR ($RUN_DIR/ivshmem-near.mem)"
host_check_write_bw bar "$size" "$(guest_fact bar_server_time)"
end=$(date +%s.%N)

echo
echo "== Summary"
echo "stock ib_write_bw --mmap=<BAR>:          fails (Couldn't create IB resources)"
echo "with LD_PRELOAD=libp2pmr-shim.so:        $(guest_fact bar_bw) MB/s into the BAR"
echo "same run, server buffer in host memory:  $(guest_fact host_bw) MB/s"
echo "host file behind the BAR holds the client's data: yes"
printf 'demo took %.0f s (QEMU TCG: bandwidth is functional, not a measure)\n' \
	"$(echo "$end - $start" | bc)"
