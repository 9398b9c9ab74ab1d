#!/usr/bin/env bash
# One model for all fabrics, or one per fabric? Same warm start (1.1.0's checkpoint, run draem-16-8-v2),
# same steps, learning rate and seed; the only difference is which fabric's normal frames the crops
# come from. Each fine-tune is evaluated on its fabric's validation frames, next to 1.1.0 and to the
# same fine-tune on all fabrics (the control: "more steps" without specialisation).
# Usage: models/experiments/per_fabric.sh [fabric …]   (default: the fabrics with validation defects)
# Writes per-run evaluations to $OUT (default /tmp/loomwatch-per-fabric) and prints the summary table.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
R="${LOOMWATCH_CACHE:-$HOME/.cache/loomwatch}/runs"
OUT="${OUT:-/tmp/loomwatch-per-fabric}"
STEPS="${STEPS:-240}"
INIT="$R/draem-16-8-v2/ckpt-last.pt"
COMMON=(--init-from "$INIT" --steps "$STEPS" --max-lr 3e-4 --seed 7 --p-spot 0.35 --p-curve 0.25 --p-streak 0.1
        --val-every 120 --val-tiles 16)
FABRICS=("$@")
[[ ${#FABRICS[@]} -gt 0 ]] || FABRICS=(00 01 02 03 04 06)

train_once() {   # run name, extra args: skipped when the run already finished
  local name=$1; shift
  if ! grep -qs "finished at step $STEPS/$STEPS" "$R/$name/train.log"; then
    models/lw train --name "$name" "${COMMON[@]}" "$@"
  fi
}

train_once draem-16-8-pf-all
for fab in "${FABRICS[@]}"; do
  train_once "draem-16-8-pf-fab$fab" --fabric "$fab"
  models/lw evaluate --run "draem-16-8-pf-fab$fab" --which last --fabric "$fab" --out "$OUT/fab$fab-$fab" > /dev/null
  models/lw evaluate --run draem-16-8-pf-all --which last --fabric "$fab" --out "$OUT/all-$fab" > /dev/null
  models/lw evaluate --onnx models/registry/draem-aitex/1.1.0/model.onnx --fabric "$fab" --out "$OUT/base-$fab" > /dev/null
done
models/.venv/bin/python models/experiments/per_fabric_summary.py "$OUT" "${FABRICS[@]}"
