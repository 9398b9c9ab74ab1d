"""python -m loomwatch_models <command> — see `--help` of each command."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import paths


def cmd_export_random(a: argparse.Namespace) -> int:
    from .release import export_random
    out = export_random(name=a.name, version=a.version, rec_width=a.rec_width, disc_width=a.disc_width,
                        seed=a.seed, data=paths.data_dir(a.data), frames=a.frames)
    print(json.dumps(out, indent=2))
    return 0


def cmd_promote(a: argparse.Namespace) -> int:
    from .registry import promote
    ok, msg = promote(a.name, a.version, reason=a.reason, force=a.force)
    print(msg)
    return 0 if ok else 1


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m loomwatch_models", description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)

    def data_arg(sp):
        sp.add_argument("--data", help="AITEX dir (default $AITEX_DIR or ../shared/datasets/aitex from the repo root)")

    sp = sub.add_parser("export-random", help="DRAEM-shaped ONNX with random weights into the registry (engine tests)")
    data_arg(sp)
    sp.add_argument("--name", default="draem-random")
    sp.add_argument("--version", default="0.0.1")
    sp.add_argument("--rec-width", type=int, default=4)
    sp.add_argument("--disc-width", type=int, default=4)
    sp.add_argument("--seed", type=int, default=0)
    sp.add_argument("--frames", type=int, default=5, help="normal frames used to compute the card's thresholds")
    sp.set_defaults(fn=cmd_export_random)

    sp = sub.add_parser("promote", help="mark a registry version production if it passes the gate")
    sp.add_argument("--name", default="draem-aitex")
    sp.add_argument("--version", required=True)
    sp.add_argument("--reason")
    sp.add_argument("--force", action="store_true", help="skip the gate (say why in --reason)")
    sp.set_defaults(fn=cmd_promote)
    return p


def main(argv: list[str] | None = None) -> int:
    a = build_parser().parse_args(argv)
    return a.fn(a)
