#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build-tree benchmarks of p2pmr (./run.sh bench, make bench): boots the
# testbed guest once for the 64 MiB BAR figures and once per large BAR
# size, measures classification on the host too, and writes
# $P2PMR_BUILD_DIR/bench/results.json plus a table of ratios.
#
# usage: run-bench.sh [--quick] [--smoke] [--large "MIB..."] [--no-large]
#                     [--out DIR] [--keep]
#   --quick     fewer repetitions and bytes (about 5 minutes)
#   --smoke     one boot, a repetition or two of everything, no large BARs:
#               for checking that the output is well formed
#   --large     near BAR sizes in MiB (default "1024 4096 16384")
#   --no-large  skip the large-BAR boots
#   --out DIR   where results.json goes (default $P2PMR_BUILD_DIR/bench)
#   --keep      keep the run directories (printed)
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
build=${P2PMR_BUILD_DIR:-$src/build}
export P2PMR_BUILD_DIR=$build
vm_run=$src/tests/vm/vm-run
bench=$build/bench/p2pmr_bench
quick=
smoke=
large="1024 4096 16384"
out=$build/bench
keep=

while [ $# -gt 0 ]; do
	case "$1" in
	--quick) quick=-q; shift ;;
	--smoke) smoke=1; quick=-q; large=; shift ;;
	--large) large=$2; shift 2 ;;
	--no-large) large=; shift ;;
	--out) out=$2; shift 2 ;;
	--keep) keep=1; shift ;;
	*) echo "usage: $0 [--quick] [--smoke] [--large \"MIB...\"] [--no-large] [--out DIR] [--keep]" >&2
	   exit 2 ;;
	esac
done

[ -x "$bench" ] || { echo "run-bench: $bench is not built" >&2; exit 1; }
mkdir -p "$out" || exit 1
base=${P2PMR_VM_TMP:-/dev/shm}
[ -w "$base" ] || base=${TMPDIR:-/tmp}
runs=$(mktemp -d "$base/p2pmr-bench.XXXXXX") || exit 1
if [ -n "$keep" ]; then
	echo "run-bench: run directories under $runs"
else
	trap 'rm -rf "$runs"' EXIT
fi

guest_env=()
if [ -n "$smoke" ]; then
	# one repetition after one warm-up round: shape, not numbers
	guest_env=(--env P2PMR_BENCH_SMOKE=1)
fi
started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
t0=$(date +%s)
parts=()
rc=0

echo "== host: p2pmr_classify() (no RDMA device here)"
"$bench" classify $quick ${smoke:+-r 1 -w 0} -o "$runs/host.jsonl" || rc=1
parts+=("host=$runs/host.jsonl")

echo "== guest: registration, RDMA, shim, classification (64 MiB BAR)"
mkdir -p "$runs/main"
"$vm_run" --run-dir "$runs/main" --timeout 1200 "${guest_env[@]}" -- \
	"$here/guest/bench.sh" main $quick || rc=1
cp "$runs/main/out/bench.jsonl" "$out/guest-main.jsonl" 2>/dev/null
parts+=("guest=$runs/main/out/bench.jsonl")

for mib in $large; do
	echo "== guest: the whole of a $mib MiB BAR"
	mkdir -p "$runs/large-$mib"
	"$vm_run" --run-dir "$runs/large-$mib" --timeout 900 \
		--near-bar-size "$mib" -- "$here/guest/bench.sh" large $quick ||
		rc=1
	# the sparse backing file may have grown pages: drop it now
	rm -f "$runs/large-$mib/ivshmem-near.mem"
	parts+=("guest=$runs/large-$mib/out/bench.jsonl")
done

mode=full
[ -n "$quick" ] && mode=quick
[ -n "$smoke" ] && mode=smoke
machine="$(uname -m), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo |
	cut -d: -f2 | sed 's/^ *//')), host kernel $(uname -r); guest: QEMU TCG $(qemu-system-x86_64 --version |
	head -n1 | sed 's/.*version //'), 2 vCPUs, soft-RoCE"
python3 "$here/report.py" --out "$out/results.json" \
	--meta date="$started" --meta machine="$machine" \
	--meta mode="$mode" \
	--meta seconds="$(( $(date +%s) - t0 ))" "${parts[@]}" || rc=1
echo "run-bench: $out/results.json ($(( $(date +%s) - t0 )) s)"
exit $rc
