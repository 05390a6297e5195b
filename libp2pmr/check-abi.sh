#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
#
# check-abi.sh LIBRARY MAP HEADER: the shared library exports exactly the
# functions the public header declares, each under a version of the map.
#
#   libp2pmr/check-abi.sh build/libp2pmr/libp2pmr.so.1 \
#	libp2pmr/libp2pmr.map libp2pmr/include/p2pmr/p2pmr.h
set -eu

lib=$1 map=$2 header=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# p2pmr_* names followed by "(" at the start of a declaration's name
sed -n 's/^[a-z].*[ *]\(p2pmr_[a-z0-9_]*\)(.*/\1/p' "$header" |
	sort -u >"$tmp/header"
sed -n 's/^[[:space:]]*\(p2pmr_[a-z0-9_]*\);.*/\1/p' "$map" |
	sort -u >"$tmp/map"
nm -D --defined-only "$lib" |
	sed -n 's/^[0-9a-f]* T \(p2pmr_[a-z0-9_]*\)@@*P2PMR_[0-9.]*$/\1/p' |
	sort -u >"$tmp/lib"

status=0
if ! diff -u "$tmp/header" "$tmp/map" >"$tmp/diff"; then
	echo "header (-) and version script (+) disagree:"
	cat "$tmp/diff"
	status=1
fi
if ! diff -u "$tmp/map" "$tmp/lib" >"$tmp/diff"; then
	echo "version script (-) and exported symbols (+) disagree:"
	cat "$tmp/diff"
	status=1
fi
if nm -D --defined-only "$lib" | grep -v ' A P2PMR_' |
	grep -v ' T p2pmr_' | grep .; then
	echo "exported symbols outside the API (above)"
	status=1
fi
[ $status = 0 ] && echo "$(wc -l <"$tmp/lib") symbols: header, map and library agree"
exit $status
