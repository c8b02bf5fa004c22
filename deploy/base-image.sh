#!/usr/bin/env bash
# Build the image BASE for deploy/Dockerfile from Debian's own packages, for
# hosts that reach Debian but no image registry: a minimal bookworm with
# python3 and venv (what the official python:3.11-slim-bookworm gives the
# Dockerfile), made by debootstrap and loaded with `docker import`.
#
#   deploy/base-image.sh [TAG]     (default ogi-base:bookworm; needs root)
#
# The root tree is cached as a tarball under $OGI_HOME/deploy, so a second
# run (or a fresh engine) costs an import, not a debootstrap.
set -euo pipefail
tag="${1:-ogi-base:bookworm}"
# Debian's client (docker.io) before any other on PATH: it matches the engine.
docker="${DOCKER:-$(command -v /usr/bin/docker || command -v docker)}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
home="${OGI_HOME:-/var/cache/ogi}"
cache="$home/deploy"
tarball="$cache/base-bookworm.tar"

if "$docker" image inspect "$tag" >/dev/null 2>&1; then
  echo "base image $tag already present"
  exit 0
fi
if [[ ! -s "$tarball" ]]; then
  mkdir -p "$cache"
  root="$(mktemp -d "$cache/rootfs.XXXXXX")"
  trap 'rm -rf "$root"' EXIT
  echo "debootstrap bookworm into $root (a few minutes)"
  # minbase: apt and the essential set only; ca-certificates so pip and apt
  # inside the build verify TLS.
  debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
    bookworm "$root" "$mirror" >"$cache/debootstrap.log" 2>&1 \
    || { tail -20 "$cache/debootstrap.log" >&2; exit 1; }
  # Same apt sources the official Debian images ship (with security updates).
  cat >"$root/etc/apt/sources.list" <<SOURCES
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb ${mirror%/debian}/debian-security bookworm-security main
SOURCES
  # Trust what this host trusts: CAs added locally (a TLS-inspecting proxy in
  # front of PyPI and Debian) are copied in, so pip and apt in the build work.
  if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
    chroot "$root" update-ca-certificates >/dev/null
  fi
  chroot "$root" apt-get clean
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/tmp/* "$root"/var/log/*.log
  tar --numeric-owner -C "$root" -cf "$tarball.part" .
  mv "$tarball.part" "$tarball"
fi
"$docker" import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt' \
  --change 'CMD ["bash"]' \
  "$tarball" "$tag" >/dev/null
echo "base image $tag imported from $tarball"
