#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The p2pmr command: list, topo and export in the testbed, their --json,
# and their errors (no p2pmr.ko, not root, bad arguments).
. "$(dirname "$0")/lib.sh"

p2pmr=$(p2pmr_tool p2pmr) || exit 1
pattern=$(p2pmr_tool p2pmr-pattern) || exit 1
near=$(pci_near_ivshmem)
far=$(pci_far_ivshmem)
nvme=$(pci_nvme)
[ -n "$near" ] && [ -n "$far" ] && [ -n "$nvme" ] ||
	p2pmr_fail "near ivshmem '$near', far ivshmem '$far', NVMe '$nvme'"
res=/sys/bus/pci/devices/$near/resource2
bsz=$(($(pci_bar_size "$near" 2) >> 20))M
out=$(mktemp -d)
nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups)

# run <name> <expected status> <command...>: output in $out/<name>.{out,err}
run() {
	local name=$1 want=$2 rc
	shift 2

	"$@" >"$out/$name.out" 2>"$out/$name.err"
	rc=$?
	if [ "$rc" != "$want" ]; then
		sed "s/^/  $name stdout: /" "$out/$name.out"
		sed "s/^/  $name stderr: /" "$out/$name.err"
		p2pmr_fail "$name: $* exited $rc, expected $want"
	fi
}

# json <name>: the output parses as JSON
json() {
	python3 -m json.tool "$out/$1.out" >/dev/null ||
		p2pmr_fail "$1: not valid JSON: $(head -c 300 "$out/$1.out")"
}

# expect_err <name> <regex>: stderr says what went wrong
expect_err() {
	grep -Eq "$2" "$out/$1.err" ||
		p2pmr_fail "$1: stderr does not match '$2': $(cat "$out/$1.err")"
	echo "ok $1: $(head -n 1 "$out/$1.err")"
}

# py <name> <python expression over d, the parsed JSON>: must hold
py() {
	python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
near, far, nvme = sys.argv[3:6]
if not eval("(" + sys.argv[2] + ")"):
	sys.exit("does not hold: " + sys.argv[2])' \
		"$out/$1.out" "$2" "$near" "$far" "$nvme" ||
		p2pmr_fail "$1: $(cat "$out/$1.out")"
}

run help 0 "$p2pmr" --help
for c in list topo export; do
	run "help_$c" 0 "$p2pmr" "$c" --help
	grep -q "usage: p2pmr $c" "$out/help_$c.out" ||
		p2pmr_fail "p2pmr $c --help prints no usage"
done
run bad_cmd 2 "$p2pmr" frobnicate
echo "ok --help of p2pmr and of each command"

# --- list: no module needed -------------------------------------------------
run list 0 "$p2pmr" list
cat "$out/list.out"
for d in "$near" "$far" "$nvme"; do
	size=$(pci_bar_size "$d" 2)
	[ "$size" -gt 0 ] || p2pmr_fail "$d has no BAR2"
	human=$((size >> 20))M
	grep -Eq "^$d +2 +$human +yes +yes " "$out/list.out" ||
		p2pmr_fail "list: no line '$d 2 $human yes yes'"
done
grep -Eq "^$nvme +2 .* nvme +" "$out/list.out" ||
	p2pmr_fail "list: the NVMe BAR2 does not name its driver, nvme"
grep -Eq "^$near +2 .* none +1af4:1110 +RAM memory" "$out/list.out" ||
	p2pmr_fail "list: the near ivshmem BAR2 is not 'none 1af4:1110 RAM memory'"
grep -Eq "^$nvme +0 " "$out/list.out" &&
	p2pmr_fail "list: NVMe BAR0 (not prefetchable) listed without --all"
run list_json 0 "$p2pmr" list --json
json list_json
py list_json 'all(any(b["pci"] == p and b["bar"] == 2 and b["wc"] and
	b["prefetchable"] for b in d["bars"]) for p in (near, far, nvme))'
for d in "$near" "$far" "$nvme"; do
	py list_json "[b['size'] for b in d['bars'] if b['pci'] == '$d' and
		b['bar'] == 2] == [$(pci_bar_size "$d" 2)]"
done
run list_all 0 "$p2pmr" --json list --all
json list_all
py list_all 'any(b["pci"] == nvme and b["bar"] == 0 and
	not b["prefetchable"] for b in d["bars"])'
# I/O-port BARs never: every BAR listed has IORESOURCE_MEM (0x200)
python3 -c 'import json, sys
for b in json.load(open(sys.argv[1]))["bars"]:
	line = open("/sys/bus/pci/devices/%s/resource" % b["pci"]).readlines()[b["bar"]]
	flags = int(line.split()[2], 16)
	if not flags & 0x200 or flags & 0x100:
		sys.exit("%s BAR%d is not a memory BAR (flags %#x)" % (b["pci"], b["bar"], flags))' \
	"$out/list_all.out" || p2pmr_fail "list --all shows a non-memory BAR"
run list_nobody 0 "${nobody[@]}" "$p2pmr" list
cmp -s "$out/list.out" "$out/list_nobody.out" ||
	p2pmr_fail "list as nobody differs from list as root"
echo "ok list: near, far and NVMe BAR2 with sizes, WC and drivers; memory BARs only"

# --- errors without p2pmr.ko --------------------------------------------------
[ -e /sys/module/p2pmr ] && p2pmr_fail "p2pmr.ko is loaded already"
run nomod 3 "$p2pmr" export "$near" --bar 2
expect_err nomod "p2pmr module is not loaded.*insmod p2pmr.ko"
run nomod_json 3 "$p2pmr" export "$near" --json
json nomod_json
py nomod_json 'not d["ok"] and d["exit_status"] == 3'

# --- topo: predicted without the module, then p2pmr.ko's answers ------------
rxe_load_module "$P2PMR_KMOD_DIR/rdma_rxe/rdma_rxe.ko"
dev=$(rxe_up rxe0) || exit 1
cell='d["devices"][[x["pci"] for x in d["devices"]].index(%s)]["paths"]["rxe0"]'
run topo_pred 0 "$p2pmr" topo --json
json topo_pred
py topo_pred "not d['module_loaded'] and
	$(printf "$cell" near)['path'] == 'bus_addr' and
	not $(printf "$cell" near)['kernel'] and
	$(printf "$cell" far)['path'] == 'refused'"
run topo_pred_txt 0 "$p2pmr" topo
grep -Eq "^$near +2:$bsz +SW\* " "$out/topo_pred_txt.out" ||
	p2pmr_fail "topo without p2pmr.ko: near is not SW*: $(cat "$out/topo_pred_txt.out")"
echo "ok topo without p2pmr.ko: predicted from sysfs (SW*, X*)"

p2pmr_load
run topo 0 "$p2pmr" topo
cat "$out/topo.out"
grep -Eq "^ +BARS +rxe0 +DRIVER" "$out/topo.out" || p2pmr_fail "topo: no header"
grep -Eq "^$near +2:$bsz +SW +none" "$out/topo.out" ||
	p2pmr_fail "topo: rxe0 x near ivshmem is not SW (bus address)"
grep -Eq "^$far +2:$bsz +X +none" "$out/topo.out" ||
	p2pmr_fail "topo: rxe0 x far ivshmem is not X (refused)"
grep -Eq "^$nvme +2:16M +SW +nvme" "$out/topo.out" ||
	p2pmr_fail "topo: rxe0 x NVMe is not SW"
grep -q "^Legend:" "$out/topo.out" || p2pmr_fail "topo: no legend"
grep -Eq "rxe0 -> $far: refused \(.*p2pmr.ko\): " "$out/topo.out" ||
	p2pmr_fail "topo: no reason line for the refusal, from p2pmr.ko"
run topo_json 0 "$p2pmr" --json topo -d rxe0
json topo_json
py topo_json "d['module_loaded'] and
	$(printf "$cell" near)['code'] == 'SW' and
	$(printf "$cell" near)['kernel'] and
	$(printf "$cell" far)['code'] == 'X' and
	$(printf "$cell" far)['reason'] == 'no_common_upstream'"
run topo_nodev 2 "$p2pmr" topo -d nosuchdev
expect_err topo_nodev "no RDMA device nosuchdev"

echo 1 >/sys/module/p2pmr/parameters/allow_host_bridge
run topo_hb 0 "$p2pmr" topo
grep -Eq "^$far +2:$bsz +HB +none" "$out/topo_hb.out" ||
	p2pmr_fail "topo with allow_host_bridge=1: far is not HB: $(cat "$out/topo_hb.out")"
echo 0 >/sys/module/p2pmr/parameters/allow_host_bridge
echo "ok topo: rxe0 x near SW, x far X, HB with allow_host_bridge=1 (p2pmr.ko)"

# --- export: the bytes are as they were afterwards ----------------------------
"$pattern" fill "$res" 0 0x400000 7 || p2pmr_fail "p2pmr-pattern fill"
run export 0 "$p2pmr" export "$near" --bar 2 --offset 0 --length 1M
cat "$out/export.out"
grep -q "^OK$" "$out/export.out" || p2pmr_fail "export did not say OK"
grep -q "read  1M back through resource2_wc .*matches" "$out/export.out" ||
	p2pmr_fail "export did not read back through resource2_wc"
run export_json 0 "$p2pmr" export "$near" -o 0x200000 -l 0x10000 --json
json export_json
py export_json 'd["ok"] and d["restored"] and d["length"] == 0x10000 and
	d["offset"] == 0x200000 and d["wc"] and d["resource"] == "resource2_wc"'
run export_default 0 "$p2pmr" export "${near#0000:}"
"$pattern" check "$res" 0 0x400000 7 ||
	p2pmr_fail "the pattern is gone after p2pmr export: it did not restore the BAR"
p2pmr_expect_idle
echo "ok export: OK three times, the pattern is intact, no live exports"

# --- errors ---------------------------------------------------------------------
run bad_addr 2 "$p2pmr" export 0000:zz:00.0
expect_err bad_addr "not a PCI address"
run no_dev 2 "$p2pmr" export 0000:7e:1f.7
expect_err no_dev "no PCI device 0000:7e:1f.7"
run bad_bar 2 "$p2pmr" export "$near" --bar 6
expect_err bad_bar "BAR number is 0 to 5"
run no_bar 2 "$p2pmr" export "$near" --bar 5
expect_err no_bar "has no BAR 5"
run nopref 2 "$p2pmr" export "$nvme" --bar 0
expect_err nopref "not prefetchable.*--force"
io=$(pci_io_bar_resource)
if [ -n "$io" ]; then
	iodev=$(basename "$(dirname "$io")")
	run io_bar 2 "$p2pmr" export "$iodev" --bar "${io##*resource}"
	expect_err io_bar "I/O-port BAR, not memory"
fi
run misaligned 2 "$p2pmr" export "$near" --offset 0x100
expect_err misaligned "multiples of the page size"
run too_long 2 "$p2pmr" export "$near" --offset $(($(pci_bar_size "$near" 2) - (4 << 20))) --length 8M
expect_err too_long "does not fit BAR 2"
run bad_json 2 "$p2pmr" --json export "$near" --bar 5
json bad_json
run nobody 4 "${nobody[@]}" "$p2pmr" export "$near" --bar 2
expect_err nobody "permission denied.*root"
run nobody_json 4 "${nobody[@]}" "$p2pmr" export "$near" --json
json nobody_json
"$pattern" check "$res" 0 0x400000 7 || p2pmr_fail "the pattern changed"
rm -rf "$out"
echo "p2pmr_cli ok"
