#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build the testbed's debug kernel: Debian's linux-source-<line> with
# tinyconfig plus tests/vm/kdebug/debug.config (KASAN, lockdep, DMA-API
# debug, kmemleak, DMABUF_MOVE_NOTIFY, ...), once, into a cache outside the
# source tree keyed by the source package version, the fragment, this
# script and the compiler.  Prints the kernel's directory:
#
#   <dir>/bzImage            the kernel the guest boots
#   <dir>/release            its release (uname -r)
#   <dir>/modules/lib/modules/<release>/
#                            its modules (ib_core, ib_uverbs, rdma_rxe, ...)
#   <dir>/src/               the configured, built tree: out-of-tree
#                            modules build with make -C <dir>/src M=...
#
# usage: debug-kernel.sh [--line 6.12] [--check | --prune]
#   --check   print the directory if the cached kernel exists, else fail
#   --prune   only remove the cached kernels unused for P2PMR_KDEBUG_KEEP_DAYS
#
# Each kernel in the cache takes about 2 GB.  Every use marks it (.used);
# after each build, kernels of other keys unused for P2PMR_KDEBUG_KEEP_DAYS
# (default 7) days are removed, never the one being returned.
#
# Environment: P2PMR_KDEBUG_CACHE (default /var/cache/p2pmr/debug-kernel),
# P2PMR_KDEBUG_JOBS (default: the number of cores), P2PMR_KDEBUG_KEEP_DAYS.
set -euo pipefail

prog=${0##*/}
here=$(cd "$(dirname "$0")" && pwd)
src_root=$(cd "$here/.." && pwd)
fragment=$src_root/tests/vm/kdebug/debug.config
line=6.12
check_only=
prune_only=

die() {
	echo "$prog: $*" >&2
	exit 1
}

while [ $# -gt 0 ]; do
	case "$1" in
	--line) line=$2; shift 2 ;;
	--check) check_only=1; shift ;;
	--prune) prune_only=1; shift ;;
	*) die "usage: $prog [--line X.Y] [--check | --prune]" ;;
	esac
done

src_pkg=linux-source-$line
tarball=/usr/src/$src_pkg.tar.xz
src_ver=$(dpkg-query -W -f='${Version}' "$src_pkg" 2>/dev/null) ||
	die "$src_pkg is not installed; run scripts/install-deps.sh"
[ -r "$tarball" ] || die "$tarball is missing; reinstall $src_pkg"

# The key: everything that changes what gets built: the source, the
# fragment, the compiler, and the recipe between the markers below (the
# rest of this script keeps the cache and changes no kernel).
recipe=$(sed -n '/^# >>> recipe/,/^# <<< recipe/p' "$0")
[ -n "$recipe" ] || die "the recipe markers are missing from $0"
key=$({
	echo "$src_pkg $src_ver"
	cat "$fragment"
	echo "$recipe"
	gcc --version | head -n 1
} | sha256sum | cut -c1-16)
cache=${P2PMR_KDEBUG_CACHE:-/var/cache/p2pmr/debug-kernel}
dir=$cache/$src_ver-$key
keep_days=${P2PMR_KDEBUG_KEEP_DAYS:-7}

# prune: remove the built kernels of other keys that nobody used for
# $keep_days days (their .used, else their .complete, is older), each
# under its key's build lock so that no build of it is cut short.
prune() {
	local old stamp other_key

	for old in "$cache"/*/; do
		old=${old%/}
		if [ "$old" = "$dir" ] || [ ! -e "$old/.complete" ]; then
			continue
		fi
		stamp=$old/.used
		[ -e "$stamp" ] || stamp=$old/.complete
		[ -n "$(find "$stamp" -mtime +"$keep_days")" ] || continue
		other_key=${old##*-}
		(
			flock -n 9 || exit 0
			rm -rf "$old"
			echo "$prog: removed $old, unused for $keep_days days" >&2
		) 9>"$cache/.lock-$other_key"
	done
}

# hand_out: mark the cached kernel used, print its directory, and exit.
hand_out() {
	touch "$dir/.used"
	echo "$dir"
	exit 0
}

if [ -n "$prune_only" ]; then
	[ -d "$cache" ] && prune
	exit 0
fi
[ ! -e "$dir/.complete" ] || hand_out
[ -z "$check_only" ] || die "no debug kernel built for $src_pkg $src_ver" \
	"with this configuration; run $prog"

mkdir -p "$cache"
# One builder per key; a second caller waits and then finds it built.
exec 9>"$cache/.lock-$key"
flock 9
[ ! -e "$dir/.complete" ] || hand_out

tmp=$cache/.build-$key
rm -rf "$tmp" "$dir"
mkdir -p "$tmp/src"
start=$SECONDS
echo "$prog: building the debug kernel from $src_pkg $src_ver into $dir" >&2
# >>> recipe: what builds the kernel (hashed into the cache key)
tar -xJf "$tarball" -C "$tmp/src" --strip-components=1

kmake() {
	make -C "$tmp/src" -s -j "${P2PMR_KDEBUG_JOBS:-$(nproc)}" "$@"
}

kmake tinyconfig >/dev/null
(cd "$tmp/src" &&
	scripts/kconfig/merge_config.sh -m .config "$fragment" >/dev/null)
kmake olddefconfig >/dev/null

# merge_config.sh only warns when Kconfig drops or changes an option
# (a dependency missing): every line of the fragment must hold.
bad=0
while IFS= read -r opt; do
	case "$opt" in
	CONFIG_*=n)
		! grep -q "^${opt%=n}=" "$tmp/src/.config" ||
			{ echo "$prog: $opt did not hold" >&2; bad=1; }
		;;
	CONFIG_*)
		grep -qxF "$opt" "$tmp/src/.config" ||
			{ echo "$prog: $opt did not hold:" \
			       "$(grep "^${opt%%=*}=" "$tmp/src/.config" ||
				  echo unset)" >&2; bad=1; }
		;;
	esac
done < <(grep -E '^CONFIG_' "$fragment")
[ "$bad" = 0 ] || die "the fragment does not apply to $src_pkg $src_ver"

kmake bzImage modules
kmake modules_install INSTALL_MOD_PATH="$tmp/modules" \
	INSTALL_MOD_STRIP=1 >/dev/null
release=$(kmake kernelrelease)
cp "$tmp/src/arch/x86/boot/bzImage" "$tmp/bzImage"
echo "$release" >"$tmp/release"
# The tree stays for out-of-tree modules; their objects are not needed.
find "$tmp/src" -name '*.o' -delete
# <<< recipe
mv "$tmp" "$dir"
: >"$dir/.complete"
echo "$prog: built $release in $((SECONDS - start)) s" >&2
prune
hand_out
