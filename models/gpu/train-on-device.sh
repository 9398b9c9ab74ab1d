#!/usr/bin/env bash
# The prepared command for the lent GPU machine (the `device` tool; see models/README.md, "Training on a
# lent GPU"): trains one DRAEM run at paper scale from the carried data pack for MINUTES, then brings back
# the run's compact resume point, its quick-validation history and log under $OUT. Commit what comes back
# (models/runs/<run>/) and the next call — or a CPU session — resumes the run from it.
#
#   here, once:   models/lw pack-data                       (→ .loomwatch/gpu/pack, ~20 MB, ignored)
#   device run:   command  "RUN=draem-16-8-g1 bash models/gpu/train-on-device.sh"
#                 carry    [".loomwatch/gpu/pack"]
#   back here:    cp -r /work/.device/.../runs/<run> models/runs/   (the files the reply lists)
#
# Settings (environment): RUN (run name), WIDTHS (rec/disc, default 16/8), STEPS (default 20000),
# CROP (256), BATCH (16), WORKERS (12 of the machine's 16 cores), MINUTES (8: the call's 10-minute limit
# less start-up and the copy back), DEVICE (cuda; cpu to rehearse the command here).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
RUN=${RUN:?name the run, e.g. RUN=draem-16-8-g1}
WIDTHS=${WIDTHS:-16/8} STEPS=${STEPS:-20000} CROP=${CROP:-256} BATCH=${BATCH:-16}
WORKERS=${WORKERS:-12} MINUTES=${MINUTES:-8} DEVICE=${DEVICE:-cuda}
OUT=${OUT:-/tmp/loomwatch-device-out}
# The lent machine is bare (its own python3 and torch, no models/.venv, no PyPI): the package is not
# installed there, so it is imported from the tree (the one place PYTHONPATH stays).
export PYTHONPATH="$PWD/models" PYTHONUNBUFFERED=1 LOOMWATCH_CACHE=${LOOMWATCH_CACHE:-/tmp/loomwatch-cache}
export MLFLOW_TRACKING_URI="file://$LOOMWATCH_CACHE/mlruns"
mkdir -p "$OUT/runs/$RUN"
lw() { python3 -W ignore::UserWarning -m loomwatch_models "$@"; }

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null | tee "$OUT/runs/$RUN/gpu.txt" || true
stop_at=$(date -u -d "+${MINUTES} minutes" +%Y-%m-%dT%H:%M:%SZ)
args=(--name "$RUN" --pack .loomwatch/gpu/pack --device "$DEVICE" --workers "$WORKERS" --stop-at "$stop_at")
if [[ -f "models/runs/$RUN/resume.pt" || -f "$LOOMWATCH_CACHE/runs/$RUN/ckpt-last.pt" ]]; then
  lw train "${args[@]}" --resume 2>&1 | tee -a "$OUT/runs/$RUN/train.log"
else
  lw train "${args[@]}" --rec-width "${WIDTHS%/*}" --disc-width "${WIDTHS#*/}" --steps "$STEPS" --crop "$CROP" \
    --batch "$BATCH" --val-every 500 --log-every 100 --p-spot 0.35 --p-curve 0.25 --p-streak 0.1 \
    2>&1 | tee -a "$OUT/runs/$RUN/train.log"
fi
# The compact resume point (fp16 weights + EMA, no optimizer) and the history travel back; so does the
# fp32 EMA checkpoint when it fits the 16 MiB a file.
LOOMWATCH_RESUME_DIR="$OUT/runs" lw resume-point --run "$RUN"
best="$LOOMWATCH_CACHE/runs/$RUN/ckpt-best.pt"
[[ -f "$best" ]] || best="$LOOMWATCH_CACHE/runs/$RUN/ckpt-last.pt"     # no quick validation yet
python3 - "$best" "$OUT/runs/$RUN/best-ema.pt" <<'EOF'
import sys, torch
s = torch.load(sys.argv[1], map_location="cpu")
torch.save({k: s[k] for k in ("config", "ema", "step", "elapsed", "history", "splitHash", "warmStart")} | {"model": s["ema"]},
           sys.argv[2])
EOF
ls -la "$OUT/runs/$RUN"
