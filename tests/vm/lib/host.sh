# SPDX-License-Identifier: GPL-2.0
# Helpers for host-side VM test scripts (source this file).  A host-side
# test boots the guest with vm_boot, then checks what the guest did from
# outside it: the files behind the ivshmem BARs, the guest's exit status.

P2PMR_SRC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
: "${P2PMR_BUILD_DIR:=$P2PMR_SRC_DIR/build}"
export P2PMR_SRC_DIR P2PMR_BUILD_DIR
# The kernel the guests boot (P2PMR_KERNEL: a version, a line or debug,
# as for vm-run --kernel) and the modules built for it.
if [ "${P2PMR_KERNEL:-}" = debug ]; then
	P2PMR_KVER=$(. "$P2PMR_BUILD_DIR/kdebug.env" &&
		echo "$P2PMR_KDEBUG_KVER") || exit 92
else
	P2PMR_KVER=$("$P2PMR_SRC_DIR/scripts/kernel-version.sh" \
		${P2PMR_KERNEL:+"$P2PMR_KERNEL"}) || exit 92
fi
P2PMR_KMOD_DIR=$P2PMR_BUILD_DIR/kmod-$P2PMR_KVER
VM_RUN=$P2PMR_SRC_DIR/tests/vm/vm-run
GUEST_DIR=$P2PMR_SRC_DIR/tests/vm/guest
PATTERN=$P2PMR_BUILD_DIR/tools/p2pmr-pattern

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

skip() {
	echo "SKIP: $*"
	exit 77
}

# upstream_host_env <component>: load the env file of an upstream build
# (scripts/upstream-build.sh; the ctest fixture "upstream" makes them),
# building it first if it is missing; skip the test, saying why, when its
# tarball is absent.
upstream_host_env() {
	local env=$P2PMR_BUILD_DIR/upstream/$1.env

	[ -r "$env" ] || "$P2PMR_SRC_DIR/scripts/upstream-build.sh" "$1" ||
		[ $? -eq 77 ] || fail "scripts/upstream-build.sh $1 failed"
	P2PMR_UPSTREAM_MISSING=
	# shellcheck disable=SC1090
	. "$env"
	[ -z "$P2PMR_UPSTREAM_MISSING" ] ||
		skip "upstream $1: $P2PMR_UPSTREAM_MISSING"
}

# _fresh_dir <variable> <prefix>: set the variable to a new directory in
# /dev/shm (the BAR backing files must be shared memory for speed), removed
# when the test exits unless P2PMR_VM_KEEP=1 (then its path is printed).
_fresh_dir() {
	local base=${P2PMR_VM_TMP:-/dev/shm} dir

	[ -w "$base" ] || base=${TMPDIR:-/tmp}
	dir=$(mktemp -d "$base/$2.XXXXXX") || fail "mktemp"
	printf -v "$1" %s "$dir"
	if [ "${P2PMR_VM_KEEP:-0}" = 1 ]; then
		echo "host.sh: keeping $dir" >&2
	else
		# shellcheck disable=SC2064
		trap "rm -rf '$dir'" EXIT
	fi
}

# _bar_files <run dir>: the guest's two BAR backing files, zero-filled.
_bar_files() {
	truncate -s 64M "$1/ivshmem-near.mem" "$1/ivshmem-far.mem" ||
		fail "cannot create the BAR files in $1"
}

# new_run_dir: a fresh run directory, removed when the test exits.
new_run_dir() {
	_fresh_dir RUN_DIR p2pmr-test
	_bar_files "$RUN_DIR"
}

# vm_boot [vm-run options] -- <guest command...>: boot in $RUN_DIR; sets
# VM_RC to vm-run's exit status and never exits itself.
vm_boot() {
	"$VM_RUN" --run-dir "$RUN_DIR" "$@"
	VM_RC=$?
}

# host_check <which> <offset> <length> <seed> [run dir]: the pattern is in
# the host file behind the near or far ivshmem BAR of the guest that ran
# in the run directory (default $RUN_DIR).
host_check() {
	"$PATTERN" check "${5:-$RUN_DIR}/ivshmem-$1.mem" "$2" "$3" "$4" ||
		fail "host file behind the $1 BAR lacks the pattern" \
		     "(offset $2, length $3, seed $4, ${5:-$RUN_DIR})"
}

# host_check_whole <which> [<offset> <length> <seed>]...: the host file
# behind the near or far BAR of the guest in $RUN_DIR holds exactly these
# patterns (in any order, not overlapping) and zeros everywhere else.
host_check_whole() {
	local file=$RUN_DIR/ivshmem-$1.mem size pos=0 off len seed

	shift
	size=$(stat -c %s "$file") || fail "no file behind the BAR ($file)"
	while read -r off len seed; do
		[ -n "$off" ] || continue
		[ "$off" -ge "$pos" ] ||
			fail "host_check_whole: region $(printf %#x "$off")" \
			     "overlaps the one before"
		[ "$off" -eq "$pos" ] ||
			"$PATTERN" check-zero "$file" "$pos" $((off - pos)) ||
			fail "the BAR file $file changed between" \
			     "$(printf '%#x and %#x' "$pos" "$off")"
		"$PATTERN" check "$file" "$off" "$len" "$seed" ||
			fail "the BAR file $file lacks the pattern" \
			     "$(printf '(offset %#x, length %#x' "$off" "$len")," \
			     "seed $seed)"
		pos=$((off + len))
	done < <(while [ $# -ge 3 ]; do
			echo $(($1)) $(($2)) "$3"
			shift 3
		done | sort -n)
	[ "$pos" -eq "$size" ] ||
		"$PATTERN" check-zero "$file" "$pos" $((size - pos)) ||
		fail "the BAR file $file changed after $(printf %#x "$pos")"
}

# host_fill <which> <offset> <length> <seed> [run dir]: write the pattern
# there before the guest boots.
host_fill() {
	"$PATTERN" fill "${5:-$RUN_DIR}/ivshmem-$1.mem" "$2" "$3" "$4" ||
		fail "cannot write the host file behind the $1 BAR"
}

# --- two guests joined by their NICs ----------------------------------------
#
# Guest a (p2pmr-a, 192.0.2.1) and guest b (p2pmr-b, 192.0.2.2) run in
# RUN_DIR_A and RUN_DIR_B: each has its own BAR files, NVMe and NIC, and
# the two NICs share one wire, a QEMU stream backend on 127.0.0.1.  The
# guest side (tests/vm/guest/lib.sh: pair_up) starts an ssh server in each
# with keys made here for this run only.

PAIR_ROLES="a b"

# new_pair_run_dirs: fresh run directories RUN_DIR_A and RUN_DIR_B under
# PAIR_DIR, removed when the test exits, and the pair's ssh keys: a host
# key for each guest, one client key for root in both, the known_hosts and
# authorized_keys that trust exactly those.
new_pair_run_dirs() {
	local keys role

	command -v dropbearkey >/dev/null ||
		skip "dropbear is not installed (scripts/install-deps.sh:" \
		     "dropbear-bin)"
	command -v ssh-keygen >/dev/null ||
		skip "ssh-keygen is not installed (scripts/install-deps.sh:" \
		     "openssh-client)"
	_fresh_dir PAIR_DIR p2pmr-pair
	RUN_DIR_A=$PAIR_DIR/a
	RUN_DIR_B=$PAIR_DIR/b
	keys=$PAIR_DIR/ssh
	mkdir -m 700 "$keys" "$RUN_DIR_A" "$RUN_DIR_B" || fail "mkdir"
	ssh-keygen -q -t ed25519 -N '' -C "p2pmr pair $PAIR_DIR" \
		-f "$keys/id_ed25519" || fail "ssh-keygen failed"
	cp "$keys/id_ed25519.pub" "$keys/authorized_keys"
	: >"$keys/known_hosts"
	for role in $PAIR_ROLES; do
		dropbearkey -t ed25519 -f "$keys/ssh_host_$role" \
			>"$keys/dropbearkey.log" 2>&1 ||
			fail "dropbearkey failed: $(cat "$keys/dropbearkey.log")"
		echo "$(pair_guest_name "$role"),$(pair_guest_ip "$role")" \
		     "$(dropbearkey -y -f "$keys/ssh_host_$role" |
			grep '^ssh-ed25519' | cut -d' ' -f1,2)" \
			>>"$keys/known_hosts"
	done
	for role in $PAIR_ROLES; do
		_bar_files "$PAIR_DIR/$role"
		mkdir -p "$PAIR_DIR/$role/out"
		cp -r "$keys" "$PAIR_DIR/$role/out/ssh"
	done
}

pair_guest_name() {
	echo "p2pmr-$1"
}

# pair_guest_ip <a|b>: 192.0.2.1 for a, 192.0.2.2 for b.
pair_guest_ip() {
	case "$1" in
	a) echo 192.0.2.1 ;;
	b) echo 192.0.2.2 ;;
	esac
}

# _pair_vm_run <role> <net option...> -- <vm-run options and command>
_pair_vm_run() {
	local role=$1 peer=b net=()

	shift
	[ "$role" = a ] || peer=a
	while [ "$1" != -- ]; do
		net+=("$1")
		shift
	done
	shift
	"$VM_RUN" --run-dir "$PAIR_DIR/$role" \
		--name "$(pair_guest_name "$role")" \
		--guest-ip "$(pair_guest_ip "$role")" "${net[@]}" \
		--env P2PMR_PAIR_ROLE="$role" \
		--env P2PMR_PEER_NAME="$(pair_guest_name "$peer")" \
		--env P2PMR_PEER_IP="$(pair_guest_ip "$peer")" \
		--env P2PMR_PAIR_SSH_DIR=/p2pmr-out/ssh \
		"$@" >"$PAIR_DIR/$role/vm-run.log" 2>&1
}

# vm_boot_pair [vm-run options] -- <guest command...>: boot guests a and b
# (new_pair_run_dirs first) with their NICs joined and run the command in
# both (P2PMR_PAIR_ROLE says which it is in); wait for both, print each
# one's output, and set VM_RC_A and VM_RC_B to their vm-run exit status.
# Never exits itself.
vm_boot_pair() {
	local pid_a pid_b port role

	[ -n "${PAIR_DIR:-}" ] || fail "vm_boot_pair: call new_pair_run_dirs first"
	rm -f "$RUN_DIR_A/net-port"
	_pair_vm_run a --net-listen -- "$@" &
	pid_a=$!
	# b joins the port a's QEMU listens on, so a must be listening first.
	while [ ! -s "$RUN_DIR_A/net-port" ] && kill -0 $pid_a 2>/dev/null; do
		sleep 0.1
	done
	port=$(cat "$RUN_DIR_A/net-port" 2>/dev/null)
	if [ -n "$port" ]; then
		_pair_vm_run b --net-connect "$port" -- "$@" &
		pid_b=$!
		wait $pid_b
		VM_RC_B=$?
	else
		echo "vm_boot_pair: guest a never listened; b not booted" \
			>"$RUN_DIR_B/vm-run.log"
		VM_RC_B=92
	fi
	wait $pid_a
	VM_RC_A=$?
	for role in $PAIR_ROLES; do
		echo "==== guest $role ($(pair_guest_name "$role")," \
		     "$PAIR_DIR/$role)"
		cat "$PAIR_DIR/$role/vm-run.log"
	done
	echo "==== guest a: status $VM_RC_A, guest b: status $VM_RC_B"
}

# guest_fact <key>: the value of the last "DEMO <key> <value>" line the
# guest printed.
guest_fact() {
	awk -v k="$1" '$1 == "DEMO" && $2 == k { print $3 }' \
		"$RUN_DIR/out/output" | tail -n 1
}

# host_check_write_bw <name> <size> <server time>: the file behind the near
# BAR holds what the client of the guest's "write_bw_pair ... <name>"
# (tests/vm/guest/lib.sh) wrote into the server's --mmap buffer there,
# started at <server time>; nothing was written past that buffer, nor
# into the far BAR.
# When the guest handed back the client's buffer (<name>_client_buffer: a
# file in its out/ folder; perftest 26.04 seeds its fill from
# /dev/urandom), that file is the reference.
host_check_write_bw() {
	local cbuf

	cbuf=$(guest_fact "$1_client_buffer")
	if [ -n "$cbuf" ]; then
		python3 "$P2PMR_SRC_DIR/tests/vm/lib/perftest_check.py" \
			--client-buffer "$RUN_DIR/ivshmem-near.mem" "$2" \
			"$RUN_DIR/out/$cbuf" ||
			fail "the host file does not hold what ib_write_bw's client wrote"
	else
		python3 "$P2PMR_SRC_DIR/tests/vm/lib/perftest_check.py" \
			"$RUN_DIR/ivshmem-near.mem" "$2" "$3" \
			"$(guest_fact "$1_client_time")" \
			"$(guest_fact "$1_client_time_after")" ||
			fail "the host file does not hold what ib_write_bw's client wrote"
	fi
	"$PATTERN" check-zero "$RUN_DIR/ivshmem-near.mem" $((2 * $2)) \
		$((0x100000)) || fail "something wrote past ib_write_bw's buffer"
	"$PATTERN" check-zero "$RUN_DIR/ivshmem-far.mem" 0 0x100000 ||
		fail "the far BAR was written"
}
