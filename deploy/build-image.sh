#!/usr/bin/env bash
# Builds the pool's container image (deploy/Containerfile) from a production install:
#   ./dcrforge image [TAG]     (default tag dcrforge-pool:<version>)
# The context is staged in .cache/image: the install at /opt/dcrforge, each shared library the
# node binary links (as ldd lists them, at the same paths), /etc/passwd and /etc/group naming
# the pool's user (UID/GID 10001), an empty /tmp and the /data volume's mount point.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
die() { echo "dcrforge image: $*" >&2; exit 1; }
VERSION="$(node -p 'require("./package.json").version')"
TAG="${1:-dcrforge-pool:$VERSION}"
command -v docker >/dev/null 2>&1 || die "docker is not installed (Debian: apt install docker.io)"
docker version --format '{{.Server.Version}}' >/dev/null 2>&1 || die "no Docker engine answers (start dockerd, or check /var/run/docker.sock permissions)"

CONTEXT="$ROOT/.cache/image"
rm -rf "$CONTEXT"
mkdir -p "$CONTEXT/rootfs/etc" "$CONTEXT/rootfs/tmp" "$CONTEXT/data"
chmod 1777 "$CONTEXT/rootfs/tmp"
./dcrforge install "$CONTEXT/rootfs/opt/dcrforge" >&2
# The launchers need a shell the image does not have; the entrypoint runs node directly.
rm -rf "$CONTEXT/rootfs/opt/dcrforge/bin"

NODE="$CONTEXT/rootfs/opt/dcrforge/node/bin/node"
# "libx.so.N => /path (0x...)" and the loader's own "/lib64/ld-linux-x86-64.so.2 (0x...)".
libs="$(ldd "$NODE" | awk '/=>/ { if ($3 ~ /^\//) print $3; next } /^[[:space:]]*\// { print $1 }')"
[ -n "$libs" ] || die "ldd listed no libraries for node: is it dynamically linked?"
for lib in $libs; do
  mkdir -p "$CONTEXT/rootfs$(dirname "$lib")"
  cp -L "$lib" "$CONTEXT/rootfs$lib"
done
printf 'root:x:0:0::/:/sbin/nologin\ndcrforge:x:10001:10001:dcrforge pool:/data:/sbin/nologin\n' >"$CONTEXT/rootfs/etc/passwd"
printf 'root:x:0:\ndcrforge:x:10001:\n' >"$CONTEXT/rootfs/etc/group"
cp deploy/Containerfile "$CONTEXT/Containerfile"

echo "dcrforge image: building $TAG from $CONTEXT ..." >&2
docker build --quiet -f "$CONTEXT/Containerfile" -t "$TAG" "$CONTEXT" >&2
echo "$TAG"
