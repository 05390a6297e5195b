#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# One entry point for a fresh Debian 12 machine (run as root):
#
#   ./run.sh demo    install, build, boot the testbed and run the demo
#                    (./run.sh demo --kernel 6.12: on the 6.12 kernel)
#   ./run.sh check   install, build and run every test (unit and VM)
#   ./run.sh build   install and build only
#   ./run.sh bench   install, build and run the benchmarks (bench/README.md;
#                    ./run.sh bench --quick for a shorter run)
#
# Environment: P2PMR_BUILD_DIR (default ./build), P2PMR_WERROR (ON in CI),
# P2PMR_TEST_JOBS (parallel tests, default the number of cores),
# P2PMR_SKIP_DEPS=1 (do not check packages), CTEST_ARGS (extra ctest args).
set -euo pipefail

root=$(cd "$(dirname "$0")" && pwd)
build=${P2PMR_BUILD_DIR:-$root/build}
export P2PMR_BUILD_DIR=$build

if [ -n "${CI:-}" ]; then
	werror=${P2PMR_WERROR:-ON}
else
	werror=${P2PMR_WERROR:-OFF}
fi

prepare() {
	[ -n "${P2PMR_SKIP_DEPS:-}" ] || "$root/scripts/install-deps.sh"
	cmake -S "$root" -B "$build" -DP2PMR_WERROR="$werror" >/dev/null
	cmake --build "$build" -j "$(nproc)"
}

case "${1:-}" in
build)
	prepare
	;;
check)
	prepare
	# shellcheck disable=SC2086
	ctest --test-dir "$build" --output-on-failure \
		-j "${P2PMR_TEST_JOBS:-$(nproc)}" ${CTEST_ARGS:-}
	;;
bench)
	prepare
	shift
	"$root/bench/run-bench.sh" "$@"
	;;
demo)
	prepare
	shift
	"$root/tests/vm/demo.sh" "$@"
	;;
*)
	echo "usage: $0 demo [--kernel VER]|check|build|bench [--quick]" >&2
	exit 2
	;;
esac
