#!/usr/bin/env bash
# `make image`: build hubkeeper's image, here too, where Docker Hub cannot be reached.
#
# - The base is BASE_IMAGE (default python:3.11-slim-bookworm) when it is present or can be pulled;
#   otherwise a local Debian bookworm base (deploy/base-image.sh, built once and cached).
# - Wheels for the project and every dependency are built on the host with `pip wheel` (the host
#   reaches PyPI through its own proxy and certificates) and installed in the image with no index.
#   They must match the image's Python, which is checked first.
#
# Settings (environment): IMAGE (default hubkeeper:latest), BASE_IMAGE, LOCAL_BASE_IMAGE
# (default hubkeeper-base:bookworm), PYTHON (the host Python that builds the wheels).
set -euo pipefail
cd "$(dirname "$0")/.."

image=${IMAGE:-hubkeeper:latest}
base=${BASE_IMAGE:-python:3.11-slim-bookworm}
local_base=${LOCAL_BASE_IMAGE:-hubkeeper-base:bookworm}
python=${PYTHON:-python3}

docker info >/dev/null 2>&1 || { echo "make image: no Docker engine answers (start dockerd)" >&2; exit 1; }

if ! docker image inspect "$base" >/dev/null 2>&1 && ! timeout 120 docker pull --quiet "$base" >/dev/null 2>&1; then
    echo "make image: $base cannot be pulled; building on the local base $local_base" >&2
    deploy/base-image.sh "$local_base"
    base=$local_base
fi

version='import sys; print("%d.%d" % sys.version_info[:2])'
image_python=$(docker run --rm --entrypoint python3 "$base" -c "$version")
host_python=$("$python" -c "$version")
if [ "$image_python" != "$host_python" ]; then
    echo "make image: $base has Python $image_python but $python is $host_python; the wheels must match" >&2
    exit 1
fi

# Dependency wheels change only with pyproject.toml: they are built once per version of it. The
# project's own wheel is rebuilt every time, in a small cached build environment (no isolation, so
# no per-build download of setuptools).
deps=build/wheel-cache/deps-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -d "$deps" ]; then
    rm -rf build/wheel-cache && mkdir -p build/wheel-cache
    "$python" -m pip wheel --quiet --wheel-dir "$deps.partial" .
    rm -f "$deps.partial"/hubkeeper-*.whl
    mv "$deps.partial" "$deps"
fi
if [ ! -x build/wheel-env/bin/python ]; then
    "$python" -m venv build/wheel-env
    build/wheel-env/bin/python -m pip install --quiet 'setuptools>=68' wheel
fi
rm -rf build/wheels && mkdir -p build/wheels/deps
cp "$deps"/*.whl build/wheels/deps/
build/wheel-env/bin/python -m pip wheel --quiet --no-deps --no-build-isolation --wheel-dir build/wheels/app .
docker build --quiet --build-arg BASE_IMAGE="$base" --tag "$image" . >/dev/null
size=$(docker image inspect --format '{{.Size}}' "$image")
echo "make image: $image on $base, $((size / 1000000)) MB"
