#!/usr/bin/env bash
# The model pipeline's tests: installs the environment if needed (setup.sh), the static checks (lint.sh:
# ruff + mypy), then pytest.
# Needs the AITEX data at $AITEX_DIR or ../shared/datasets/aitex (from the repo root).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$here/setup.sh"
"$here/lint.sh"
cd "$here"
exec "$here/.venv/bin/python" -m pytest -q -p no:cacheprovider -W ignore::UserWarning tests "$@"
