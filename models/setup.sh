#!/usr/bin/env bash
# Installs the model pipeline's Python environment: Debian packages (torch, onnx, numpy, ...)
# plus a venv models/.venv (system site packages visible) into which the package loomwatch_models is
# installed editable with its PyPI pins and the dev tools (pyproject.toml: `pip install -e 'models[dev]'`).
# Idempotent: every step checks first and says what it skips or installs.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
start=$(date +%s)

apt_pkgs=(python3-torch python3-onnx python3-numpy python3-scipy python3-matplotlib
          python3-sklearn python3-pil python3-pytest python3-venv python3-wheel)
missing=()
for p in "${apt_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "[setup] apt: installing ${missing[*]}"
  if [[ $(id -u) -ne 0 ]]; then
    echo "[setup] error: need root for apt-get (or install these packages first): ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "[setup] apt: all ${#apt_pkgs[@]} Debian packages present, skipping"
fi

if [[ ! -x "$venv/bin/python" ]]; then
  echo "[setup] venv: creating $venv (--system-site-packages, /usr/bin/python3)"
  /usr/bin/python3 -m venv --system-site-packages "$venv"
else
  echo "[setup] venv: $venv present, skipping"
fi

# The editable install's build backend is Debian's setuptools + wheel (--no-build-isolation): nothing
# but the pins themselves comes from PyPI. Redone when pyproject.toml changes or the package is missing.
stamp="$venv/.pyproject.sha256"
want=$(sha256sum "$here/pyproject.toml" | cut -d' ' -f1)
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]] && "$venv/bin/pip" show -q loomwatch-models 2>/dev/null; then
  echo "[setup] pip: pyproject.toml unchanged since last install, skipping"
else
  echo "[setup] pip: installing loomwatch_models (editable) with the pins of pyproject.toml + [dev]"
  PIP_DISABLE_PIP_VERSION_CHECK=1 "$venv/bin/pip" install -q --no-build-isolation -e "$here[dev]"
  echo "$want" > "$stamp"
fi
rm -f "$venv/.requirements.sha256"   # the stamp of the former requirements.txt

"$venv/bin/python" - <<'PY'
import onnx  # before torch: see loomwatch_models/__init__.py
import numpy, torch, onnxruntime, mlflow, scipy, sklearn, matplotlib, PIL, pytest, mypy, loomwatch_models
assert numpy.__version__.startswith("1."), f"numpy {numpy.__version__}: must stay 1.x for Debian's torch"
print(f"[setup] ok: torch {torch.__version__}, onnx {onnx.__version__}, onnxruntime {onnxruntime.__version__}, "
      f"numpy {numpy.__version__}, mlflow-skinny {mlflow.__version__}, pytest {pytest.__version__}, "
      f"loomwatch_models {loomwatch_models.__version__} (editable)")
PY
echo "[setup] done in $(( $(date +%s) - start )) s"
