#!/usr/bin/env bash
# A local Debian bookworm base image with Python 3, for building hubkeeper's image where Docker Hub
# (and so the official python:*-slim image) cannot be reached. Built once with debootstrap from
# Debian's own mirror and kept as a local tag; nothing happens when the tag already exists.
#
#   deploy/base-image.sh [TAG]        (default hubkeeper-base:bookworm; DEBIAN_MIRROR to override)
set -euo pipefail

tag=${1:-hubkeeper-base:bookworm}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

if docker image inspect "$tag" >/dev/null 2>&1; then
    exit 0
fi
command -v debootstrap >/dev/null || { echo "base-image: debootstrap is missing (apt-get install debootstrap)" >&2; exit 1; }

work=$(mktemp -d /tmp/hubkeeper-base.XXXXXX)
trap 'rm -rf "$work"' EXIT
echo "base-image: debootstrap bookworm (minbase + python3, python3-venv) from $mirror" >&2
debootstrap --variant=minbase --include=python3,python3-venv bookworm "$work/root" "$mirror" >"$work/log" 2>&1 || {
    tail -n 20 "$work/log" >&2
    exit 1
}
root=$work/root
# What an image never needs: downloaded packages, package lists, manuals, translations. Each
# package's copyright file stays.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin "$root"/var/lib/apt/lists/* \
    "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/* "$root"/var/log/*
find "$root"/usr/share/doc -type f ! -name copyright -delete
find "$root"/usr/share/doc -type d -empty -delete

tar --numeric-owner -C "$root" -c . | docker import \
    --change 'ENV LANG=C.UTF-8' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["python3"]' \
    - "$tag" >/dev/null
echo "base-image: $tag ($(docker image inspect --format '{{.Size}}' "$tag" | awk '{printf "%.0f MB", $1/1e6}'))" >&2
