#!/usr/bin/env bash
# Rewrite deploy/requirements.lock: resolve the project's dependencies inside
# the image's base (its Python decides which versions install: Debian
# bookworm's 3.11.2 refuses releases that need 3.11.5), freeze the result.
#   deploy/lock.sh [BASE]     (default ogi-base:bookworm, see deploy/base-image.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
base="${1:-ogi-base:bookworm}"
# Debian's client (docker.io) before any other on PATH: it matches the engine.
docker="${DOCKER:-$(command -v /usr/bin/docker || command -v docker)}"
{
  echo "# Pinned runtime dependencies of the image (deploy/Dockerfile), resolved by deploy/lock.sh"
  echo "# in the base image ($base). Regenerate with \`make deploy-lock\` when pyproject.toml's"
  echo "# dependencies change: the image build fails (pip check) while this file misses one."
  "$docker" run --rm --network host -v "$PWD:/src:ro" "$base" sh -ec '
    cp -r /src/pyproject.toml /src/README.md /src/ogi /src/services /src/schemas /tmp/ >/dev/null
    mkdir /tmp/p && mv /tmp/pyproject.toml /tmp/README.md /tmp/ogi /tmp/services /tmp/schemas /tmp/p/
    python3 -m venv /tmp/v
    /tmp/v/bin/pip install -q --disable-pip-version-check /tmp/p >&2
    /tmp/v/bin/pip freeze --exclude ogi'
} > deploy/requirements.lock.part
mv deploy/requirements.lock.part deploy/requirements.lock
echo "deploy/requirements.lock: $(grep -vc '^#' deploy/requirements.lock) pins"
