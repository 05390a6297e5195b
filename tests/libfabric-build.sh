#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build the guest programs that use the upstream libfabric build, once it
# exists (ctest fixture "libfabric", after "upstream"): point
# <build>/upstream/libfabric-prefix at the libfabric named in
# <build>/upstream/libfabric.env (scripts/upstream-build.sh wrote it) and
# build the targets.  Skips (77), naming what is missing, when libfabric
# was not built.
#
# usage: libfabric-build.sh <cmake> <build dir> <target...>
set -u

cmake=${1:?usage: $0 <cmake> <build dir> <target...>}
build=${2:?usage: $0 <cmake> <build dir> <target...>}
shift 2
env=$build/upstream/libfabric.env

if [ ! -r "$env" ]; then
	echo "SKIP: upstream libfabric is not built ($env): run" \
	     "scripts/upstream-build.sh libfabric (ctest: upstream.build)"
	exit 77
fi
P2PMR_UPSTREAM_MISSING=
P2PMR_LIBFABRIC_V64=
# shellcheck disable=SC1090
. "$env"
if [ -n "$P2PMR_UPSTREAM_MISSING" ]; then
	echo "SKIP: upstream libfabric: $P2PMR_UPSTREAM_MISSING"
	exit 77
fi
if [ ! -r "$P2PMR_LIBFABRIC_V64/include/rdma/fabric.h" ]; then
	echo "FAIL: $env names $P2PMR_LIBFABRIC_V64, which has no" \
	     "include/rdma/fabric.h" >&2
	exit 1
fi
ln -sfn "$P2PMR_LIBFABRIC_V64" "$build/upstream/libfabric-prefix" || exit 1
echo "libfabric: $P2PMR_LIBFABRIC_V64"
exec "$cmake" --build "$build" --target "$@"
