#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build the upstream userspace stacks the tests use, from the release
# tarballs in ../shared/upstream (P2PMR_UPSTREAM_DIR overrides), out of
# the source tree, into a cache:
#
#   rdma-core          rdma-core v64.0 + providers/rdma-core-patches/,
#                      built in place (-DIN_PLACE=1: its libibverbs loads
#                      the providers of its own build tree)
#   perftest           perftest 26.04.17, unmodified, against rdma-core
#   perftest-p2pmr     perftest 26.04.17 + perftest-patches/, against
#                      rdma-core and this build's libp2pmr
#   perftest-p2pmr-44  the same against Debian's rdma-core (44)
#   perftest-cuda      perftest 26.04.17, unmodified, against rdma-core,
#                      built with CUDA: the header of tests/cuda_stub (the
#                      test double of libcuda this build made), as a
#                      CUDA site builds it against its toolkit's
#   libfabric          libfabric v2.6.0 (verbs;ofi_rxm) against rdma-core
#
# usage: upstream-build.sh [component...]      (default: all of them)
#
# Each build lands in $P2PMR_UPSTREAM_CACHE (default
# /var/cache/p2pmr/upstream) as <component>-<key>, where the key is a
# sha256 of everything that goes into it: the tarball, the patch series,
# this script, the build flags, the builds it links against (rdma-core,
# libp2pmr's installed library and headers, Debian's libibverbs-dev
# version).  A build runs under a lock (flock), in a directory of its own
# inside the cache, and is published by renaming a symbolic link to it
# into place: a reader sees either nothing or a complete build.  A build
# that is there already is reused.
#
# For the tests it writes $P2PMR_BUILD_DIR/upstream/<component>.env
# (shell assignments; tests/vm/guest/lib.sh: upstream_env, use_rdma_core):
# where the build is, or P2PMR_UPSTREAM_MISSING with the reason (the
# tarball that is absent) when it cannot be built.  Exit status: 0 when
# every component asked for was built or found, 77 when some could not be
# built for want of a tarball (tests that need them skip), 1 on failure.
# The builders are called through publish(), which shellcheck cannot see.
# shellcheck disable=SC2317
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
upstream=${P2PMR_UPSTREAM_DIR:-$(dirname "$root")/shared/upstream}
cache=${P2PMR_UPSTREAM_CACHE:-/var/cache/p2pmr/upstream}
build=${P2PMR_BUILD_DIR:-$root/build}
envdir=$build/upstream
jobs=${P2PMR_UPSTREAM_JOBS:-$(nproc)}

RDMA_CORE_TARBALL=rdma-core-64.0.tar.xz
PERFTEST_TARBALL=perftest-26.04.17.tar.xz
LIBFABRIC_TARBALL=libfabric-2.6.0.tar.xz
RDMA_CORE_FLAGS="-GNinja -DNO_PYVERBS=1 -DNO_MAN_PAGES=1 -DIN_PLACE=1 -DENABLE_WERROR=1"
LIBFABRIC_FLAGS="--enable-only --enable-verbs=yes --enable-rxm=yes"

log() {
	echo "upstream-build: $*" >&2
}

die() {
	log "$*"
	exit 1
}

mkdir -p "$cache" "$envdir" || die "cannot create $cache or $envdir"

# key <name> <input...>: the cache key of a build: sha256 of its name and
# of each input (a file's content, or a string prefixed with "=").
key() {
	local i

	for i in "$@"; do
		case $i in
		=*) printf '%s\n' "$i" ;;
		*) sha256sum <"$i" ;;
		esac
	done | sha256sum | cut -c1-16
}

# series_files <dir>: the patch files of a series, in order.
series_files() {
	find "$1" -maxdepth 1 -name '[0-9][0-9][0-9][0-9]-*.patch' | sort
}

# apply_series <source dir> <series dir>: apply every patch with no fuzz.
apply_series() {
	local p

	for p in $(series_files "$2"); do
		patch -d "$1" -p1 --fuzz=0 --no-backup-if-mismatch -s <"$p" ||
			die "$(basename "$p") does not apply to $(basename "$1")"
	done
}

# publish <name> <key> <builder function> [args...]: build <name>-<key>
# unless it is in the cache, and print its path.  The builder runs in a
# fresh directory (its first argument) that stays where it is: IN_PLACE
# builds and rpaths remember their absolute paths, so the stable name is
# a symbolic link to it, renamed into place once the build is complete.
publish() {
	local name=$1 k=$2 fn=$3 final tmp t0
	shift 3

	final=$cache/$name-$k
	exec {lock}>"$cache/.$name.lock"
	flock "$lock"
	if [ ! -e "$final/.complete" ]; then
		# What a killed run left (the lock is ours: nobody else is
		# building <name> now).
		for tmp in "$cache/.$name-"????????????????.*; do
			[ -e "$tmp/.complete" ] || rm -rf "$tmp"
		done
		tmp=$(mktemp -d "$cache/.$name-$k.XXXXXX")
		chmod 755 "$tmp"	# readable by anyone, as /var/cache is
		t0=$SECONDS
		log "building $name-$k in $tmp"
		# In the background so that set -e holds inside the builder.
		("$fn" "$tmp" "$@") >"$tmp.log" 2>&1 &
		if ! wait $!; then
			tail -n 40 "$tmp.log" >&2
			rm -rf "$tmp" "$tmp.log"
			die "building $name failed (log above)"
		fi
		mv "$tmp.log" "$tmp/build.log"
		touch "$tmp/.complete"
		ln -sfn "$(basename "$tmp")" "$final.new"
		mv -T "$final.new" "$final"
		log "built $name-$k in $((SECONDS - t0)) s"
	fi
	exec {lock}>&-
	echo "$final"
}

# missing <component> <tarball>: the env file that makes tests skip.
missing() {
	printf 'P2PMR_UPSTREAM_MISSING=%q\n' \
		"$2 is not in $upstream (P2PMR_UPSTREAM_DIR)" >"$envdir/$1.env"
	log "$1: $2 is not in $upstream; tests that need it skip"
	status=77
}

extract() {
	mkdir -p "$2"
	tar -xf "$upstream/$1" -C "$2" --strip-components=1
}

# --- rdma-core v64 + providers/rdma-core-patches ---------------------------

build_rdma_core() {
	local d=$1

	extract "$RDMA_CORE_TARBALL" "$d"
	apply_series "$d" "$root/providers/rdma-core-patches"
	mkdir "$d/build"
	# shellcheck disable=SC2086
	(cd "$d/build" && cmake $RDMA_CORE_FLAGS .. && ninja -j "$jobs")
}

RDMA_CORE=
rdma_core() {
	local k

	[ -z "$RDMA_CORE" ] || return 0
	[ -r "$upstream/$RDMA_CORE_TARBALL" ] || return 1
	# shellcheck disable=SC2046
	k=$(key "=rdma-core" "$upstream/$RDMA_CORE_TARBALL" \
		$(series_files "$root/providers/rdma-core-patches") "$0" \
		"=$RDMA_CORE_FLAGS")
	RDMA_CORE=$(publish rdma-core "$k" build_rdma_core) || exit 1
	RDMA_CORE_KEY=$k
}

env_rdma_core() {
	if ! rdma_core; then
		missing rdma-core "$RDMA_CORE_TARBALL"
		return 0
	fi
	{
		printf 'P2PMR_RDMA_CORE_V64=%q\n' "$RDMA_CORE"
		printf 'P2PMR_RDMA_CORE_V64_LIB=%q\n' "$RDMA_CORE/build/lib"
		printf 'P2PMR_RDMA_CORE_V64_BIN=%q\n' "$RDMA_CORE/build/bin"
	} >"$envdir/rdma-core.env"
}

# --- perftest ----------------------------------------------------------------

# build_perftest <dir> <series dir|-> <rdma-core dir|-> <libp2pmr prefix|->
#                [<cuda.h> <libcuda dir>]
build_perftest() {
	local d=$1 series=$2 rc=$3 p2pmr=$4 cuda_h=${5:-} cuda_lib=${6:-}
	local cppflags="" ldflags="" with=()

	extract "$PERFTEST_TARBALL" "$d"
	[ "$series" = - ] || apply_series "$d" "$series"
	if [ "$rc" != - ]; then
		cppflags="-I$rc/build/include"
		ldflags="-L$rc/build/lib -Wl,-rpath,$rc/build/lib"
	fi
	if [ "$p2pmr" != - ]; then
		with=(--with-p2pmr="$p2pmr")
	fi
	# CUDA_H_PATH wins over a toolkit in /usr/local/cuda; the runtime
	# (libcudart) is never looked for: perftest needs only the driver
	if [ -n "$cuda_h" ]; then
		with+=(CUDA_H_PATH="$cuda_h" --disable-cudart)
		ldflags="$ldflags -L$cuda_lib"
	fi
	cd "$d"
	./autogen.sh
	./configure CPPFLAGS="$cppflags" LDFLAGS="$ldflags" "${with[@]}"
	make -j "$jobs"
	if [ "$p2pmr" != - ]; then
		grep -q use_pci_bar "$d/ib_write_bw" ||
			{ echo "ib_write_bw has no --use_pci_bar"; return 1; }
	fi
	if [ -n "$cuda_h" ]; then
		grep -q '^#define HAVE_CUDA 1' "$d/config.h" ||
			{ echo "perftest was configured without CUDA"; return 1; }
	fi
}

# stage_libp2pmr <dir>: install this build's libp2pmr there (prefix).
stage_libp2pmr() {
	[ -e "$build/CMakeCache.txt" ] ||
		die "no p2pmr build in $build: build the project first"
	cmake --install "$build" --prefix "$1" >/dev/null ||
		die "cmake --install $build failed"
}

# libp2pmr_inputs <prefix>: the files perftest-p2pmr links and includes.
libp2pmr_inputs() {
	find "$1/include" "$1/lib" -type f \( -name '*.h' -o -name 'libp2pmr.so*' \) |
		LC_ALL=C sort
}

env_perftest() {
	local comp=$1 series=- rc=- stage k name d

	[ -r "$upstream/$PERFTEST_TARBALL" ] ||
		{ missing "$comp" "$PERFTEST_TARBALL"; return 0; }
	case $comp in
	perftest-p2pmr-44) ;;
	*)
		rdma_core ||
			{ missing "$comp" "$RDMA_CORE_TARBALL"; return 0; }
		rc=$RDMA_CORE
		;;
	esac
	case $comp in
	perftest-p2pmr*)
		series=$root/perftest-patches
		stage=$(mktemp -d "$cache/.stage.XXXXXX")
		stage_libp2pmr "$stage"
		# shellcheck disable=SC2046
		k=$(key "=$comp" "$upstream/$PERFTEST_TARBALL" \
			$(series_files "$series") "$0" \
			"=${RDMA_CORE_KEY:-$(dpkg-query -W -f='${Version}' \
				libibverbs-dev)}" \
			$(libp2pmr_inputs "$stage"))
		rm -rf "$stage"
		;;
	perftest-cuda)
		[ -e "$build/tests/cuda_stub/libcuda.so" ] ||
			die "no CUDA stand-in in $build/tests/cuda_stub: build the project first"
		k=$(key "=$comp" "$upstream/$PERFTEST_TARBALL" "$0" \
			"=$RDMA_CORE_KEY" "$root/tests/cuda_stub/cuda.h")
		;;
	*)
		k=$(key "=$comp" "$upstream/$PERFTEST_TARBALL" "$0" \
			"=$RDMA_CORE_KEY")
		;;
	esac
	name=$comp
	d=$(publish "$name" "$k" build_perftest_in "$series" "$rc" "$comp") ||
		exit 1
	{
		printf 'P2PMR_%s=%q\n' "$(echo "$comp" | tr a-z- A-Z_)" "$d"
	} >"$envdir/$comp.env"
}

# build_perftest_in <dir> <series> <rdma-core> <component>: libp2pmr is
# installed inside the build's own directory, where the rpath finds it;
# perftest-cuda gets its own copy of the CUDA header.
build_perftest_in() {
	local d=$1 series=$2 rc=$3 comp=$4 p2pmr=- cuda=()

	if [ "$series" != - ]; then
		p2pmr=$d/p2pmr
		stage_libp2pmr "$p2pmr"
	fi
	if [ "$comp" = perftest-cuda ]; then
		mkdir -p "$d/cuda"
		cp "$root/tests/cuda_stub/cuda.h" "$d/cuda/"
		cuda=("$d/cuda/cuda.h" "$build/tests/cuda_stub")
	fi
	build_perftest "$d/src" "$series" "$rc" "$p2pmr" "${cuda[@]}"
	ln -s src/ib_write_bw src/ib_read_bw src/ib_send_bw "$d/" 2>/dev/null ||
		true
}

# --- libfabric ---------------------------------------------------------------

build_libfabric() {
	local d=$1 rc=$2

	extract "$LIBFABRIC_TARBALL" "$d/src"
	cd "$d/src"
	./autogen.sh
	# shellcheck disable=SC2086
	./configure --prefix="$d/prefix" $LIBFABRIC_FLAGS \
		CPPFLAGS="-I$rc/build/include" \
		LDFLAGS="-L$rc/build/lib -Wl,-rpath,$rc/build/lib"
	make -j "$jobs"
	make install
	"$d/prefix/bin/fi_info" -l | grep -q '^verbs' ||
		{ echo "libfabric built without the verbs provider"; return 1; }
}

env_libfabric() {
	local k d

	[ -r "$upstream/$LIBFABRIC_TARBALL" ] ||
		{ missing libfabric "$LIBFABRIC_TARBALL"; return 0; }
	rdma_core || { missing libfabric "$RDMA_CORE_TARBALL"; return 0; }
	k=$(key "=libfabric" "$upstream/$LIBFABRIC_TARBALL" "$0" \
		"=$LIBFABRIC_FLAGS" "=$RDMA_CORE_KEY")
	d=$(publish libfabric "$k" build_libfabric "$RDMA_CORE") || exit 1
	printf 'P2PMR_LIBFABRIC_V64=%q\n' "$d/prefix" >"$envdir/libfabric.env"
}

status=0
comps=("$@")
[ ${#comps[@]} -gt 0 ] ||
	comps=(rdma-core perftest perftest-p2pmr perftest-p2pmr-44 perftest-cuda
	       libfabric)
for c in "${comps[@]}"; do
	case $c in
	rdma-core) env_rdma_core ;;
	perftest | perftest-p2pmr | perftest-p2pmr-44 | perftest-cuda)
		env_perftest "$c" ;;
	libfabric) env_libfabric ;;
	*) die "unknown component $c" ;;
	esac
done
exit $status
