#!/usr/bin/env bash
# The unix pipeline a user could script instead of Trawl (issue 22), over a list of files (one
# path a line): md5sum, sha1sum, sha256sum, `file` and `file --mime-type` over every file; `7z x`
# of each container (what `file` calls an archive or compressed data); the same over the members,
# one level; then `yara -p 2` over files and members with rules compiled by yarac.
#
#   bench/lib/unix-pipeline.sh LIST COMPILED_RULES
set -euo pipefail
list=$1
rules=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

analyse() { # $1: NUL-separated file list; writes what `file` says of each to $2
  xargs -0 -a "$1" md5sum > /dev/null
  xargs -0 -a "$1" sha1sum > /dev/null
  xargs -0 -a "$1" sha256sum > /dev/null
  xargs -0 -a "$1" file -N -0 > "$2"
  xargs -0 -a "$1" file --mime-type > /dev/null
}

tr '\n' '\0' < "$list" > "$work/files0"
analyse "$work/files0" "$work/types"
# `file -0` ends each name with a NUL (then `: description`), so names with colons or spaces stay whole.
tr '\0' '\t' < "$work/types" \
  | grep -E $'\t'': +(gzip|Zip archive|7-zip|XZ compressed|bzip2|current ar archive|POSIX tar|tar archive|RAR archive|Zstandard|cpio archive|RPM)' \
  | cut -f1 > "$work/containers" || true
n=0
while IFS= read -r c; do
  n=$((n + 1))
  7z x -y -bd -o"$work/x/$n" "$c" > /dev/null 2>&1 || true
done < "$work/containers"
if [ -d "$work/x" ]; then
  find "$work/x" -type f -print0 > "$work/members0"
  [ -s "$work/members0" ] && analyse "$work/members0" "$work/member-types"
fi
{ cat "$list"; [ -d "$work/x" ] && find "$work/x" -type f; } > "$work/all"
yara -C -p 2 --scan-list "$rules" "$work/all" > /dev/null || true
echo "files: $(wc -l < "$list"), containers unpacked: $n, members: $( [ -d "$work/x" ] && find "$work/x" -type f | wc -l || echo 0)" >&2
