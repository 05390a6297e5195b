#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Install every Debian package p2pmr needs to build, test and demo, and
# check that the guest kernel's image, headers and source agree.
# Idempotent: installs nothing when everything is present.  Run as root.
set -euo pipefail

packages=(
	# build
	build-essential cmake pkg-config git bc flex bison libelf-dev patch
	libcmocka-dev
	# the testbed guest
	qemu-system-x86 linux-image-amd64 linux-headers-amd64 linux-source-6.1
	busybox-static cpio kmod iproute2 pciutils xz-utils
	# RDMA userspace
	rdma-core libibverbs-dev librdmacm-dev ibverbs-utils ibverbs-providers
	perftest rdmacm-utils python3-pyverbs
	# MPI: Open MPI with UCX (tests/mpi, the vm.mpi_* tests, bench's
	# mpi_bw), across two guests its daemons launched over ssh
	# (dropbear-bin: the server binary only, no system service)
	openmpi-bin libopenmpi-dev libucx0 ucx-utils openssh-client dropbear-bin
	# man pages from markdown, and their test; the demo's host-side check
	go-md2man man-db python3
	# the DKMS recipe and its test (scripts/dkms-install.sh)
	dkms
	# the Debian packages and their test (debian/, tests/deb_build.sh)
	debhelper dh-dkms lintian fakeroot dpkg-dev
	# upstream rdma-core, perftest and libfabric built for the tests
	# (scripts/upstream-build.sh)
	libnl-3-dev libnl-route-3-dev libudev-dev ninja-build libtool autoconf
	automake libibumad-dev libpci-dev util-linux
)

missing=()
for p in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$status" = "install ok installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "install-deps: missing packages: ${missing[*]}" >&2
		echo "install-deps: run this script as root to install them" >&2
		exit 1
	fi
	echo "install-deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	# A fresh machine has no package lists; refresh them once per run
	# where they are missing or older than a day.
	if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' \
			-mtime -1 2>/dev/null | head -n 1)" ]; then
		apt-get update -qq
	fi
	apt-get install -y -qq --no-install-recommends "${missing[@]}" ||
		{ apt-get update -qq &&
		  apt-get install -y -qq --no-install-recommends "${missing[@]}"; }
fi

# The second kernel line the kernel-side tests run on: the LTS that
# Debian's next release ships, built for this release in its backports
# suite (README: "Kernels").  Only the packages named here come from
# backports; nothing else on the machine moves.
second_line=6.12
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
backports=$codename-backports
sources_file=/etc/apt/sources.list.d/p2pmr-$backports.sources
pin_file=/etc/apt/preferences.d/p2pmr-$backports

# debian_mirror: "<URI> <Signed-By>" of the configured source that serves
# this release's own suite, one-line (.list) or deb822 (.sources) format.
debian_mirror() {
	local f

	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -r "$f" ] || continue
		awk -v s="$codename" '
			$1 == "deb" {
				i = 2
				if ($2 ~ /^\[/) {
					opts = ""
					while (i <= NF && $i !~ /\]$/)
						opts = opts " " $(i++)
					opts = opts " " $(i++)
					if (match(opts, /signed-by=[^] ]*/))
						key = substr(opts, RSTART + 10,
							     RLENGTH - 10)
				}
				if ($(i + 1) == s) { print $i, key; exit }
			}' "$f"
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		if [ ! -r "$f" ] || [ "$f" = "$sources_file" ]; then
			continue
		fi
		awk -v s="$codename" '
			function flush() {
				if (types ~ /(^| )deb( |$)/ &&
				    (" " suites " ") ~ (" " s " ") && uri != "")
					{ print uri, key; found = 1; exit }
				types = suites = uri = key = ""
			}
			/^[[:space:]]*$/ { flush(); next }
			/^#/ { next }
			/^Types:/ { sub(/^Types:[[:space:]]*/, ""); types = $0 }
			/^Suites:/ { sub(/^Suites:[[:space:]]*/, ""); suites = $0 }
			/^URIs:/ { uri = $2 }
			/^Signed-By:/ { key = $2 }
			END { if (!found) flush() }' "$f"
	done
}

# line_image: the newest linux-image-<line>.<...>-amd64 apt knows of
# (signed, generic flavour), or nothing.
line_image() {
	apt-cache pkgnames "linux-image-$1." 2>/dev/null |
		grep -E "^linux-image-${1//./\\.}\\.[^-]+(-[0-9]+)?-amd64\$" | sort -V | tail -n 1
}

# installed_line_kernels <line>: the installed kernel versions of a line.
installed_line_kernels() {
	dpkg-query -W -f='${Status} ${Package}\n' "linux-image-$1.*" \
		2>/dev/null | sed -n "s/^install ok installed linux-image-//p" |
		grep -E "^${1//./\\.}\\.[^-]+(-[0-9]+)?-amd64\$" || :
}

line_installed() {
	local v

	for v in $(installed_line_kernels "$1"); do
		[ -e "/lib/modules/$v/build/Makefile" ] && return 0
	done
	return 1
}

if ! line_installed "$second_line" ||
   [ "$(dpkg-query -W -f='${Status}' "linux-source-$second_line" \
	2>/dev/null)" != "install ok installed" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "install-deps: the $second_line kernel (image, headers," \
		     "source) is missing; run this script as root" >&2
		exit 1
	fi
	[ -n "$codename" ] || {
		echo "install-deps: no VERSION_CODENAME in /etc/os-release" >&2
		exit 1
	}
	read -r mirror key < <(debian_mirror | head -n 1) || :
	if [ -z "${mirror:-}" ]; then
		echo "install-deps: no apt source for '$codename' found in" \
		     "/etc/apt; cannot add $backports" >&2
		exit 1
	fi
	{
		echo "# Written by p2pmr's scripts/install-deps.sh: the second"
		echo "# kernel line, pinned in $pin_file."
		echo "Types: deb"
		echo "URIs: $mirror"
		echo "Suites: $backports"
		echo "Components: main"
		[ -z "${key:-}" ] || echo "Signed-By: $key"
	} >"$sources_file.tmp"
	mv "$sources_file.tmp" "$sources_file"
	# Specific pins first: the first matching record wins.
	cat >"$pin_file.tmp" <<PIN
# Written by p2pmr's scripts/install-deps.sh: from $backports, only the
# $second_line kernel's image, headers, kbuild and source.
Package: linux-image-$second_line.* linux-headers-$second_line.* linux-kbuild-$second_line.* linux-source-$second_line
Pin: release n=$backports
Pin-Priority: 500

Package: *
Pin: release n=$backports
Pin-Priority: -1
PIN
	mv "$pin_file.tmp" "$pin_file"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	image=$(line_image "$second_line")
	if [ -z "$image" ]; then
		echo "install-deps: $backports offers no linux-image-$second_line" \
		     "kernel" >&2
		exit 1
	fi
	kv=${image#linux-image-}
	echo "install-deps: installing $image, its headers and" \
	     "linux-source-$second_line from $backports"
	apt-get install -y -qq --no-install-recommends "$image" \
		"linux-headers-$kv" "linux-source-$second_line"
fi

# The guest boots each installed kernel of the tested lines; modules are
# built against their headers and the soft-RoCE patches apply to their
# source: image, headers and source of one kernel must be one version.
here=$(cd "$(dirname "$0")" && pwd)
kvers=$("$here/kernel-version.sh" --lines)
for kver in $kvers; do
	line=${kver%%-*}
	line=${line%.*}
	image_ver=$(dpkg-query -W -f='${Version}' "linux-image-$kver" \
		2>/dev/null ||
		dpkg-query -W -f='${Version}' "linux-image-$kver-unsigned")
	headers_ver=$(dpkg-query -W -f='${Version}' "linux-headers-$kver")
	source_ver=$(dpkg-query -W -f='${Version}' "linux-source-$line")
	if [ "$image_ver" != "$headers_ver" ] ||
	   [ "$image_ver" != "$source_ver" ]; then
		echo "install-deps: kernel versions disagree: linux-image-$kver" \
		     "$image_ver, linux-headers-$kver $headers_ver," \
		     "linux-source-$line $source_ver" >&2
		echo "install-deps: run 'apt-get update && apt-get install" \
		     "linux-image-$kver linux-headers-$kver" \
		     "linux-source-$line'" >&2
		exit 1
	fi
	echo "install-deps: ok (guest kernel $kver, package $image_ver)"
done
