#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The Debian packages (debian/): built from this tree with
# dpkg-buildpackage -b -us -uc in a copy of it (the build writes beside
# the tree), then checked with lintian --pedantic, which must report no
# tag that debian/*.lintian-overrides does not justify.  The packages
# are left in <out dir> for vm.deb_packages.
#
# usage: deb_build.sh <out dir>
set -euo pipefail

prog=${0##*/}
src=$(cd "$(dirname "$0")/.." && pwd)
out=${1:?usage: $prog <out dir>}

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

for tool in dpkg-buildpackage dh dh_dkms lintian fakeroot; do
	command -v "$tool" >/dev/null ||
		fail "$tool is missing: run scripts/install-deps.sh"
done

# One version number: debian/changelog repeats CMakeLists.txt's.
project=$(sed -n 's/^project(p2pmr VERSION \([0-9.]*\).*/\1/p' \
	"$src/CMakeLists.txt")
deb=$(dpkg-parsechangelog -l "$src/debian/changelog" -SVersion)
[ "${deb%-*}" = "$project" ] ||
	fail "debian/changelog has $deb, CMakeLists.txt $project: add a changelog entry"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tree=$work/p2pmr-$project
mkdir "$tree"
# What git tracks or would track: not build trees.
git -C "$src" ls-files -co --exclude-standard -z |
	(cd "$src" && tar --null -cf - -T -) | tar -xf - -C "$tree"

start=$SECONDS
(cd "$tree" && dpkg-buildpackage -b -us -uc) >"$work/build.log" 2>&1 || {
	tail -n 40 "$work/build.log" >&2
	fail "dpkg-buildpackage failed"
}
echo "$prog: packages built in $((SECONDS - start)) s"

changes=$work/p2pmr_${deb}_$(dpkg-architecture -qDEB_HOST_ARCH).changes
# lintian refuses nothing for running as root but says so; drop that line.
tags=$(lintian --pedantic --display-info "$changes" 2>&1 |
	grep -v 'running with root privileges is not recommended' || :)
if [ -n "$tags" ]; then
	echo "$tags" >&2
	fail "lintian --pedantic reports tags no override justifies"
fi
echo "$prog: lintian --pedantic: clean (overrides: $(cat \
	"$src"/debian/*.lintian-overrides | grep -vc '^#\|^$'))"

rm -rf "$out"
mkdir -p "$out"
for f in "$work"/*.deb; do
	case $f in
	*-dbgsym_*) ;;
	*) cp "$f" "$out/" ;;
	esac
done
ls "$out"
