#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# An installed p2pmr is usable from where it ends up: installs the build
# into a temporary prefix (cmake --install --prefix), moves the prefix,
# then builds tests/install/consumer.c against the moved tree with
# `pkg-config --cflags --libs libp2pmr` and with CMake's
# find_package(p2pmr), and runs both builds, which must load the moved
# library and report the project's version.  The same again for a
# multiarch libdir (lib/<tuple>, what GNUInstallDirs gives for prefix
# /usr on Debian) from a second, library-only build of the project.
# Also checks the one version number (libp2pmr.pc, the CMake package,
# p2pmr.ko's MODULE_VERSION when the module was built) and that the
# installed uapi header is the kernel's own file.  Needs no root and no
# VM.
#
# usage: install_consumer.sh <build dir> <source dir> <project version>
set -u

build=$(cd "$1" && pwd) src=$(cd "$2" && pwd) version=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
err() {
	echo "FAIL: $*"
	fail=1
}
# run <log> <command...>: quiet unless it fails
run() {
	local log=$1
	shift
	if ! "$@" >"$log" 2>&1; then
		err "$*"
		sed 's/^/  | /' "$log" | tail -40
		return 1
	fi
}

for t in cc cmake pkg-config; do
	command -v $t >/dev/null || { echo "SKIP: no $t"; exit 77; }
done

# consume <label> <moved prefix> <libdir relative to it>
consume() {
	local label=$1 prefix=$2 libdir=$3 out=$tmp/$1 pcdir found lib
	mkdir -p "$out"
	pcdir=$prefix/$libdir/pkgconfig
	[ -f "$pcdir/libp2pmr.pc" ] || { err "$label: no $libdir/pkgconfig/libp2pmr.pc"; return; }
	[ -f "$prefix/$libdir/cmake/p2pmr/p2pmrConfig.cmake" ] ||
		err "$label: no $libdir/cmake/p2pmr/p2pmrConfig.cmake"
	[ -f "$prefix/$libdir/libp2pmr.so.1" ] ||
		err "$label: no $libdir/libp2pmr.so.1"

	# the header of the ABI is the kernel's file, unchanged
	cmp -s "$src/kernel/include/uapi/linux/p2pmr.h" \
		"$prefix/include/p2pmr/linux/p2pmr.h" ||
		err "$label: include/p2pmr/linux/p2pmr.h is not kernel/include/uapi/linux/p2pmr.h"

	# pkg-config: paths follow the moved .pc file (searched first; the
	# system's directories still serve Requires.private: libibverbs)
	export PKG_CONFIG_PATH=$pcdir
	local flags
	flags=$(pkg-config --cflags --libs libp2pmr) ||
		err "$label: pkg-config --cflags --libs libp2pmr failed"
	found=$(pkg-config --modversion libp2pmr)
	[ "$found" = "$version" ] ||
		err "$label: pkg-config --modversion says '$found', not $version"
	found=$(pkg-config --variable=libdir libp2pmr)
	[ "$(cd "$found" 2>/dev/null && pwd -P)" = "$(cd "$prefix/$libdir" && pwd -P)" ] ||
		err "$label: pkg-config libdir '$found' is not the moved $libdir"
	# shellcheck disable=SC2086  # the flags are words
	if run "$out/pc-cc.log" cc -Wall -Werror -o "$out/consumer-pc" \
			"$src/tests/install/consumer.c" $flags -ldl; then
		if run "$out/pc-run.log" env LD_LIBRARY_PATH="$prefix/$libdir" \
				"$out/consumer-pc" "$version"; then
			lib=$(sed -n 's/^library: //p' "$out/pc-run.log")
			case $lib in
			"$prefix/$libdir"/*) ;;
			*) err "$label: pkg-config build loaded '$lib', not the moved library" ;;
			esac
		fi
	fi
	unset PKG_CONFIG_PATH

	# CMake: find_package(p2pmr <version> EXACT) from the moved prefix
	if run "$out/cmake-configure.log" cmake -S "$src/tests/install" \
			-B "$out/cmake" -DCMAKE_PREFIX_PATH="$prefix" \
			-DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF \
			-DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF \
			-DP2PMR_EXPECT_VERSION="$version" \
			-DCMAKE_C_FLAGS="-Wall -Werror" &&
	   run "$out/cmake-build.log" cmake --build "$out/cmake"; then
		found=$(sed -n 2p "$out/cmake/p2pmr_found.txt")
		[ "$(cd "$found" && pwd -P)" = "$(cd "$prefix/$libdir/cmake/p2pmr" && pwd -P)" ] ||
			err "$label: find_package found '$found', not the moved prefix"
		if run "$out/cmake-run.log" "$out/cmake/consumer" "$version"; then
			lib=$(sed -n 's/^library: //p' "$out/cmake-run.log")
			case $lib in
			"$prefix/$libdir"/*) ;;
			*) err "$label: CMake build loaded '$lib', not the moved library" ;;
			esac
		fi
	fi
	# a version the package is not compatible with is refused
	if cmake -S "$src/tests/install" -B "$out/cmake-wrong" \
			-DCMAKE_PREFIX_PATH="$prefix" \
			-DP2PMR_EXPECT_VERSION=999.0 >"$out/wrong.log" 2>&1; then
		err "$label: find_package(p2pmr 999.0 EXACT) succeeded"
	fi
	[ $fail = 0 ] && echo "ok: $label: pkg-config and find_package from the moved prefix"
}

# 1. The whole project, as built, default libdir.
if run "$tmp/install.log" cmake --install "$build" --prefix "$tmp/stage"; then
	libdir=$(cd "$tmp/stage" && find . -name libp2pmr.pc | sed 's|^\./||; s|/pkgconfig/libp2pmr.pc$||')
	[ -n "$libdir" ] || err "no libp2pmr.pc installed"
	[ ! -e "$tmp/stage/include/p2pmr/uapi" ] ||
		err "include/p2pmr/uapi still installed"
	mv "$tmp/stage" "$tmp/moved"
	[ -n "$libdir" ] && consume default "$tmp/moved" "$libdir"
fi

# 2. A multiarch libdir, from a library-only build of the same source.
tuple=$(cc -print-multiarch 2>/dev/null)
if [ -z "$tuple" ]; then
	echo "note: cc knows no multiarch tuple: multiarch case left out"
elif run "$tmp/ma-configure.log" cmake -S "$src" -B "$tmp/ma-build" \
		-DCMAKE_INSTALL_PREFIX=/usr -DP2PMR_KERNEL_MODULES=OFF \
		-DBUILD_TESTING=OFF &&
     run "$tmp/ma-build.log" cmake --build "$tmp/ma-build" --target libp2pmr &&
     run "$tmp/ma-install.log" cmake --install "$tmp/ma-build" \
		--component libp2pmr --prefix "$tmp/ma-stage"; then
	ma_libdir=$(sed -n 's/^CMAKE_INSTALL_LIBDIR:[A-Z]*=//p' \
		"$tmp/ma-build/CMakeCache.txt")
	[ "$ma_libdir" = "lib/$tuple" ] ||
		err "GNUInstallDirs gave libdir '$ma_libdir' for prefix /usr, not lib/$tuple"
	mv "$tmp/ma-stage" "$tmp/ma-moved"
	consume multiarch "$tmp/ma-moved" "lib/$tuple"
fi

# 3. The module has the same version (where the build made it).
ko=$build/kmod/p2pmr/p2pmr.ko
if [ -f "$ko" ] && command -v modinfo >/dev/null; then
	found=$(modinfo -F version "$ko")
	[ "$found" = "$version" ] ||
		err "p2pmr.ko's MODULE_VERSION is '$found', not $version"
else
	echo "note: no $ko: MODULE_VERSION not checked"
fi

[ $fail = 0 ] && echo "PASS: installed p2pmr $version is relocatable and consumable"
exit $fail
