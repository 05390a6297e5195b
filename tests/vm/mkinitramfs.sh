#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build the testbed guest's initramfs: static busybox, the guest kernel's
# modules needed to reach the host's root over virtio-9p, and our init.
#
# usage: mkinitramfs.sh <kernel-version> <output.cpio.gz>
set -euo pipefail

kver=$1
out=$2
here=$(cd "$(dirname "$0")" && pwd)
busybox=$(command -v busybox || true)
# Only the static build works in an initramfs with no libc.
for b in /bin/busybox /usr/bin/busybox "$busybox"; do
	if [ -n "$b" ] && [ -x "$b" ] && ! ldd "$b" >/dev/null 2>&1; then
		busybox=$b
		break
	fi
done
if [ -z "$busybox" ] || ldd "$busybox" >/dev/null 2>&1; then
	echo "mkinitramfs: need a static busybox (apt-get install busybox-static)" >&2
	exit 1
fi

staging=$(mktemp -d "${TMPDIR:-/tmp}/p2pmr-initramfs.XXXXXX")
tmp_out=
trap 'rm -rf "$staging" ${tmp_out:+"$tmp_out"}' EXIT

mkdir -p "$staging"/{bin,dev,proc,sys,lower,upper,newroot,out,lib/modules}
cp "$busybox" "$staging/bin/busybox"
cp "$here/initramfs-init" "$staging/init"
chmod 755 "$staging/init"

# modprobe lists each module's dependencies first; keep the first mention.
: >"$staging/modules.order"
for mod in virtio_pci 9pnet_virtio 9p overlay; do
	modprobe -S "$kver" --show-depends "$mod" | awk '$1 == "insmod" { print $2 }'
done | awk '!seen[$0]++' | while read -r ko; do
	name=$(basename "$ko")
	case "$ko" in
	*.ko) cp "$ko" "$staging/lib/modules/$name" ;;
	*.ko.xz) xz -dc "$ko" >"$staging/lib/modules/${name%.xz}"; name=${name%.xz} ;;
	*.ko.zst) zstd -qdc "$ko" >"$staging/lib/modules/${name%.zst}"; name=${name%.zst} ;;
	*) echo "mkinitramfs: unknown module format $ko" >&2; exit 1 ;;
	esac
	echo "$name" >>"$staging/modules.order"
done

[ -s "$staging/modules.order" ] || {
	echo "mkinitramfs: no modules found for $kver" >&2
	exit 1
}

# Parallel callers may race to build the same file: each writes its own
# temporary and renames it into place atomically.
tmp_out=$(mktemp "$out.XXXXXX")
(cd "$staging" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) |
	gzip -1 >"$tmp_out"
chmod 644 "$tmp_out"
mv -f "$tmp_out" "$out"
