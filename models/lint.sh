#!/usr/bin/env bash
# The model pipeline's static checks, configured in pyproject.toml: ruff check over models/ (pycodestyle,
# pyflakes, isort, bugbear, pyupgrade), then mypy on the package loomwatch_models. Both always run, so one
# call shows every finding; exits non-zero if either reports anything. Tools: models/.venv (setup.sh).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
stamp="$here/.venv/.pyproject.sha256"
[[ -f "$stamp" && "$(cat "$stamp")" == "$(sha256sum "$here/pyproject.toml" | cut -d' ' -f1)" ]] || "$here/setup.sh"
cd "$here"
rc=0
echo "[lint] ruff check"
"$here/.venv/bin/ruff" check --no-fix . || rc=1
echo "[lint] mypy"
"$here/.venv/bin/mypy" || rc=1
((rc == 0)) && echo "[lint] ok" || echo "[lint] failed: fix the findings above" >&2
exit $rc
