#!/usr/bin/env bash
# Fill compose/wheels/ with wheels for zchaos and every dependency.
#
# Images then install with `pip install --no-index --find-links`, so a build
# needs no network (containers here reach PyPI only through a TLS-intercepting
# proxy they do not trust). The wheels must match the image's Python: build
# them with the same minor version (the debootstrap base has 3.11; the default
# python:3.12-slim base wants 3.12, or no wheelhouse at all).
#
# Usage: compose/build-wheelhouse.sh [PYTHON]   (default: .venv/bin/python, else python3)
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(dirname "$HERE")"
PY="${1:-}"
if [[ -z "$PY" ]]; then
    if [[ -x "$ROOT/.venv/bin/python" ]]; then PY="$ROOT/.venv/bin/python"; else PY=python3; fi
fi
OUT="$HERE/wheels"
mkdir -p "$OUT"
# Drop stale zchaos wheels so the image always gets the working tree's code.
rm -f "$OUT"/zchaos-*.whl
PIP=("$PY" -m pip wheel --quiet --disable-pip-version-check -w "$OUT")
# The build backend too, so the Dockerfile can build the source tree offline;
# uvloop for the embedded Toxiproxy server (its asyncio path needs Python >= 3.11.4
# to pause reading in connection_made; bookworm ships 3.11.2).
EXTRA=("setuptools>=68" wheel uvloop)
# Reuse what the wheelhouse already holds (no index: fast, offline); go to the
# index only when something is missing or the requirements changed.
if ! "${PIP[@]}" --no-index --find-links "$OUT" "$ROOT" "${EXTRA[@]}" 2>/dev/null; then
    "${PIP[@]}" --find-links "$OUT" "$ROOT" "${EXTRA[@]}"
fi
# The image installs zchaos from its own copy of the source, never a stale wheel.
rm -f "$OUT"/zchaos-*.whl
echo "wheelhouse: $(ls "$OUT" | wc -l) wheels in $OUT ($("$PY" -c 'import sys; print("py%d.%d" % sys.version_info[:2])'))"
