#!/usr/bin/env bash
# Build a minimal Debian base image without a container registry.
#
# Where no registry is reachable (air-gapped CI, TLS-intercepting proxies),
# `docker build` cannot pull python:3.12-slim. debootstrap builds a bookworm
# root filesystem from the Debian mirror apt already uses, and `docker import`
# turns it into an image with python3 (3.11) and python3-venv, enough for
# compose/Dockerfile (--build-arg BASE_IMAGE=zchaos-base:bookworm).
#
# Usage: compose/build-base-image.sh [IMAGE]   (default zchaos-base:bookworm)
# Skips the work when IMAGE already exists (set FORCE=1 to rebuild).
set -euo pipefail

IMAGE="${1:-zchaos-base:bookworm}"
SUITE="${SUITE:-bookworm}"
MIRROR="${MIRROR:-}"

if [[ "${FORCE:-0}" != 1 ]] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
    echo "base image $IMAGE exists; skipping (FORCE=1 to rebuild)"
    exit 0
fi

if ! command -v debootstrap >/dev/null 2>&1; then
    echo "debootstrap is missing: apt-get install -y debootstrap" >&2
    exit 2
fi

if [[ -z "$MIRROR" ]]; then
    # Reuse the mirror apt is configured with, so proxies and local mirrors work.
    MIRROR="$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
        /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -E '^(URIs:|deb )' \
        | grep -oE 'https?://[^ ]+' | grep -v security | head -n1 || true)"
    MIRROR="${MIRROR:-http://deb.debian.org/debian}"
fi

ROOTFS="$(mktemp -d /tmp/zchaos-rootfs.XXXXXX)"
trap 'rm -rf "$ROOTFS"' EXIT

echo "debootstrap $SUITE from $MIRROR into $ROOTFS"
debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
    "$SUITE" "$ROOTFS" "$MIRROR" >/dev/null
# Keep the image small: package caches and lists are not needed at run time.
rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/*

tar -C "$ROOTFS" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["/bin/bash"]' \
    - "$IMAGE" >/dev/null
echo "built $IMAGE"
