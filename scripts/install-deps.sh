#!/usr/bin/env bash
# Installs what Trawl needs on Debian 12: libmagic (file typing) from Debian, and the npm
# packages (better-sqlite3 compiles from source here, ~100 s on first install).
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

# Reinstall node modules only when the lockfile changed since the last install.
stamp=node_modules/.trawl-installed
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
  npm ci --no-audit --no-fund --loglevel=error
  touch "$stamp"
fi
