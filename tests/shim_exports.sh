#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# shim_exports.sh SHIM MAP: the verbs shim exports exactly the functions
# its version script names, each at the version node libibverbs gives it
# (libp2pmr stays private), needs no libibverbs, and can be preloaded into
# a program that does not use RDMA.
set -uo pipefail

shim=$1 map=$2
# "name@@NODE" for each function in each node of the version script
want=$(awk '/^IBVERBS_[0-9.]+ \{/ { node = $1 }
	/^[[:space:]]*ibv_[a-z0-9_]*;/ { sub(/;.*/, ""); gsub(/[[:space:]]/, "");
		print $0 "@@" node }' "$map" | sort)
have=$(nm -D --defined-only "$shim" | awk '$2 == "T" { print $3 }' | sort)
for sym in ibv_reg_mr@@IBVERBS_1.1 ibv_dereg_mr@@IBVERBS_1.1 \
	   ibv_reg_mr_ex@@IBVERBS_1.15; do
	if ! grep -qx "$sym" <<<"$have"; then
		echo "FAIL: the shim does not define $sym"
		exit 1
	fi
done
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
