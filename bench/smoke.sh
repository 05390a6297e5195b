#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# ctest's bench.smoke: one short benchmark run (one boot, one repetition),
# checking only that results.json is well formed and complete; the numbers
# themselves are not judged.
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: smoke.sh OUTDIR}
rm -f "$out/results.json"
"$here/run-bench.sh" --smoke --out "$out" || exit 1
# MPI's figure only where tests/mpi was built (MPI installed)
mpi=()
[ -x "${P2PMR_BUILD_DIR:-$here/../build}/tests/mpi/mpi_bar" ] &&
	mpi=(--expect mpi_bw)
python3 "$here/report.py" --check "$out/results.json" \
	--expect reg --expect rdma_bw --expect rdma_lat --expect shim \
	--expect shim_info --expect classify "${mpi[@]}"
