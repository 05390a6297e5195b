#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# shim_exports.sh SHIM MAP: the verbs shim exports exactly the functions
# its version script names (libp2pmr stays private), needs no libibverbs,
# and can be preloaded into a program that does not use RDMA.
set -uo pipefail

shim=$1 map=$2
want=$(sed -n 's/^[[:space:]]*\(ibv_[a-z0-9_]*\);.*/\1/p' "$map" | sort)
have=$(nm -D --defined-only "$shim" | awk '$2 == "T" { print $3 }' | sort)
if [ "$want" != "$have" ]; then
	echo "FAIL: exported functions differ from $map:"
	diff <(echo "$want") <(echo "$have")
	exit 1
fi
if nm -D --defined-only "$shim" | awk '{ print $3 }' | grep -q '^p2pmr_'; then
	echo "FAIL: libp2pmr symbols leak out of the shim"
	exit 1
fi
if readelf -d "$shim" | grep NEEDED | grep -q libibverbs; then
	echo "FAIL: the shim links libibverbs"
	exit 1
fi
out=$(LD_PRELOAD=$shim P2PMR_DEBUG=2 /bin/true 2>&1) ||
	{ echo "FAIL: LD_PRELOAD of the shim breaks /bin/true: $out"; exit 1; }
echo "ok the shim exports $(echo "$have" | wc -l) verbs, nothing else, and needs no libibverbs"
