#!/usr/bin/env bash
# Installs what Trawl needs on Debian 12: libmagic (file typing) from Debian, Trawl's faster
# build of it (native/libmagic), and the npm packages (better-sqlite3 compiles from source here,
# ~100 s on first install).
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
[ -e /usr/lib/x86_64-linux-gnu/libmagic.so.1 ] || ls /usr/lib/*/libmagic.so.1 >/dev/null 2>&1 || need_apt+=(libmagic1)
[ -e /usr/share/misc/magic.mgc ] || [ -e /usr/lib/file/magic.mgc ] || need_apt+=(libmagic-mgc)
command -v file >/dev/null 2>&1 || need_apt+=(file)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Debian packages: ${need_apt[*]}" >&2
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "Trawl needs Debian packages: ${need_apt[*]} (run: sudo apt-get install ${need_apt[*]})" >&2
    exit 1
  fi
fi

# Trawl's libmagic: file 5.44 with two speed-ups that change no answer (native/libmagic/README.md),
# reading Debian's database. Without a C compiler, analyses use Debian's library, 2-3x slower.
if ! make -s -C native/libmagic CC="${CC:-cc}" CFLAGS=-O2; then
  echo "NOTE: native/libmagic did not build: Trawl will type files with Debian's libmagic (slower)" >&2
fi

# better-sqlite3's SQLite maps at most 2 GB of a database file by default; reads through the map
# cost half as much as through read(), and stores grow past 2 GB (10M notifications: ~12 GB).
# Where better-sqlite3 compiles from source (here, without network) it takes this limit.
export CFLAGS="${CFLAGS:-} -DSQLITE_MAX_MMAP_SIZE=0x1000000000"
build="sqlite-mmap-64g"

# Reinstall node modules only when the lockfile or the build flags changed since the last install.
stamp=node_modules/.trawl-installed
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ] || [ "$(cat "$stamp")" != "$build" ]; then
  npm ci --no-audit --no-fund --loglevel=error
  echo "$build" > "$stamp"
fi
