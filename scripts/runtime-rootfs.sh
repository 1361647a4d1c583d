#!/usr/bin/env bash
# Builds the root filesystem of the esgw-server container image, which starts FROM scratch:
# nothing exists at run time but what this script puts in <outdir>. That is the binary at
# /usr/local/bin/esgw-server, every shared library the dynamic loader resolves for it (the whole
# closure, as ldd reports it, copied to the path the loader looks up), the loader itself, the CA
# bundle libcurl reads for https nodes, /etc/passwd and /etc/group with the unprivileged user
# esgw (10001:10001), /etc/nsswitch.conf, and an empty, world-writable /tmp.
# A library the loader cannot find is an error here, at build time, not a crash at start.
#
# Usage: scripts/runtime-rootfs.sh <binary> <outdir>
# <outdir> must be missing or empty. Prints every file written, as its absolute path inside the
# image, one per line on stdout; messages go to stderr. tests/deploy/image_rootfs_test.cc runs
# this same script, and runs the server from its output.
set -euo pipefail
umask 022

readonly image_binary=/usr/local/bin/esgw-server
readonly ca_bundle=/etc/ssl/certs/ca-certificates.crt
readonly user=esgw
readonly uid=10001
readonly gid=10001

die() {
  echo "runtime-rootfs: error: $*" >&2
  exit 1
}
note() { echo "runtime-rootfs: $*" >&2; }

(($# == 2)) || die "usage: $0 <binary> <outdir>"
binary=$1
outdir=$2
[[ -f "$binary" && -x "$binary" ]] || die "$binary is not an executable file"
if [[ -e "$outdir" ]]; then
  [[ -d "$outdir" ]] || die "$outdir exists and is not a directory"
  [[ -z "$(ls -A "$outdir")" ]] || die "$outdir is not empty: a stale file would end up in the image"
fi
command -v ldd >/dev/null || die "ldd is missing (Debian package libc-bin)"

written=()

# place SOURCE IMAGE_PATH: copies SOURCE's content (following symlinks, so the file lands under
# the name the loader asks for, such as a soname) to IMAGE_PATH inside the image.
place() {
  mkdir -p "$outdir$(dirname "$2")"
  cp --dereference "$1" "$outdir$2"
  written+=("$2")
}

# write IMAGE_PATH: stdin becomes IMAGE_PATH inside the image, mode 0644.
write() {
  mkdir -p "$outdir$(dirname "$1")"
  cat >"$outdir$1"
  chmod 0644 "$outdir$1"
  written+=("$1")
}

# ---- the binary and its shared libraries ----

# ldd asks the dynamic loader itself, so the list is the loader's own resolution: the transitive
# closure, each library under the path it would open. Lines look like
#   libz.so.1 => /lib/x86_64-linux-gnu/libz.so.1 (0x...)    a library
#   /lib64/ld-linux-x86-64.so.2 (0x...)                      the interpreter (PT_INTERP)
#   linux-vdso.so.1 (0x...)                                  provided by the kernel
#   libfoo.so.1 => not found                                 fatal
if ! listing=$(ldd "$binary" 2>&1); then
  die "ldd $binary failed (is it a dynamic executable?):"$'\n'"$listing"
fi
if missing=$(grep -F 'not found' <<<"$listing"); then
  die "the loader cannot find these libraries of $binary; install their packages first:"$'\n'"$missing"
fi

libraries=()
interpreter=""
while IFS= read -r line; do
  if [[ "$line" =~ ^[[:space:]]*[^[:space:]]+[[:space:]]+=\>[[:space:]]+(/[^[:space:]]+)[[:space:]]+\(0x[0-9a-f]+\)$ ]]; then
    libraries+=("${BASH_REMATCH[1]}")
  elif [[ "$line" =~ ^[[:space:]]*(/[^[:space:]]+)[[:space:]]+\(0x[0-9a-f]+\)$ ]]; then
    [[ -z "$interpreter" ]] || die "ldd names two interpreters: $interpreter and ${BASH_REMATCH[1]}"
    interpreter=${BASH_REMATCH[1]}
  elif [[ "$line" =~ ^[[:space:]]*[^/[:space:]]+[[:space:]]+(=\>[[:space:]]*)?\(0x[0-9a-f]+\)$ ]]; then
    : # the vDSO: mapped by the kernel into every process, there is no file to copy
  else
    die "cannot read this line of ldd's output: $line"
  fi
done <<<"$listing"
[[ -n "$interpreter" ]] || die "ldd names no interpreter for $binary:"$'\n'"$listing"

for library in "${libraries[@]}"; do
  # A variant picked for this machine's CPU (glibc-hwcaps) would be the only copy in the image,
  # and the loader of an older CPU skips it: the process would not start there.
  if [[ "$library" == */glibc-hwcaps/* ]]; then
    die "$library is a CPU-specific variant; install or point ldd at the baseline build instead"
  fi
  place "$library" "$library"
done
place "$interpreter" "$interpreter"
place "$binary" "$image_binary"
chmod 0755 "$outdir$image_binary"

# ---- files the process reads at run time ----

# libcurl (Debian's is built with this bundle path) verifies https Elasticsearch nodes with it
# unless --es_ca_file names another file.
[[ -f "$ca_bundle" ]] || die "$ca_bundle is missing; install the ca-certificates package"
place "$ca_bundle" "$ca_bundle"

# Numeric ids: Kubernetes' runAsNonRoot can only check a numeric USER. The entries give the ids a
# name for tools that look it up; there is no shell and no home directory.
write /etc/passwd <<EOF
root:x:0:0:root:/root:/usr/sbin/nologin
$user:x:$uid:$gid:$user:/nonexistent:/usr/sbin/nologin
EOF
write /etc/group <<EOF
root:x:0:
$user:x:$gid:
EOF

# glibc 2.34 and later (Debian 12 has 2.36) have the files and dns services built in, so name
# lookups need no NSS module here. The container runtime mounts /etc/hosts and /etc/resolv.conf.
write /etc/nsswitch.conf <<'EOF'
passwd: files
group: files
hosts: files dns
EOF

# Sticky and writable by anyone, like /tmp everywhere, so uid 10001 can write there.
mkdir -p "$outdir/tmp"
chmod 1777 "$outdir/tmp"
chmod 0755 "$outdir"

# ---- check: the loader finds everything inside the tree ----

# The tree has no /etc/ld.so.cache, so the loader looks only in its built-in directories (and
# any RUNPATH). Asking it from inside a chroot proves that every library is where it looks.
# chroot needs root (a docker build RUN is root); without it the check is skipped, and the test
# suite (run as root) starts the server inside the tree instead. The environment is emptied, so
# no LD_LIBRARY_PATH of the caller's helps the loader (and chroot is called by its full path).
chroot_program=$(command -v chroot || true)
if [[ $(id -u) -eq 0 && -n "$chroot_program" ]] &&
  "$chroot_program" "$outdir" "$interpreter" --version >/dev/null 2>&1; then
  if ! inside=$(env -i "$chroot_program" "$outdir" "$interpreter" --list "$image_binary" 2>&1) ||
    grep -qF 'not found' <<<"$inside"; then
    die "inside $outdir the loader cannot resolve $image_binary:"$'\n'"$inside"
  fi
  note "checked in a chroot: the loader resolves every library of $image_binary"
else
  note "not checked in a chroot (needs root and chroot): that the loader finds every library in $outdir"
fi

note "wrote ${#written[@]} files to $outdir"
printf '%s\n' "${written[@]}" | sort
