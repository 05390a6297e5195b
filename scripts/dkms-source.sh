#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Lay out the DKMS source tree of p2pmr.ko in <dest>: kernel/p2pmr and the
# uapi header in the repository's layout, which is all Kbuild reads.
# dkms.conf (kernel/dkms.conf, PACKAGE_VERSION filled in) goes beside
# them: scripts/dkms-install.sh writes it, the Debian package's dh_dkms
# installs it (debian/rules).
#
# usage: scripts/dkms-source.sh <dest>
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dest=${1:?usage: dkms-source.sh <dest>}

rm -rf "$dest"
mkdir -p "$dest/kernel/include/uapi/linux"
cp -r "$root/kernel/p2pmr" "$dest/kernel/"
cp "$root/kernel/include/uapi/linux/p2pmr.h" "$dest/kernel/include/uapi/linux/"
