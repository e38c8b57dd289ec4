"""Benchmark: tens of thousands of hostile and random updates through the real Application,
counting every broken invariant (bot/sandbox/fuzz.py says what each one is).

    .venv/bin/python bench/fuzz.py [--actions N] [--seed S]

Eight people (six members, Cora coordinating, and two strangers) first make real activity
through the bot, then send N actions chosen by the seed: odd words and commands, taps, forged,
mutated and replayed button presses, edited messages, a group chat, blocking the bot, and jumps
of a fake clock with a scheduler tick. Prints how many actions of each kind ran, how many
violations of each kind were found, and each distinct fault with its first occurrence; the last
line is one JSON object. The same seed gives the same run, so a fault at action #K is
reproduced with `--seed S --actions K`. It exits 0 whatever it finds: the figures are the
result, and tests/test_fuzz.py is the gate.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

from _common import print_result  # first: puts the repo root ahead of bench/ on sys.path

from bot.sandbox.fuzz import INVARIANTS, FuzzReport, run_fuzz

DEFAULT_ACTIONS = 20_000
DEFAULT_SEED = 1


def report(result: FuzzReport) -> None:
    """The counts a person reads first, then every distinct fault with how to reproduce it."""
    print(f"\n{result.actions:,} actions (seed {result.seed}) in {result.seconds:.1f} s,")
    print(f"  {result.actions / result.seconds:.0f} actions/s with every invariant checked")
    print("\nactions by kind:")
    for kind, count in result.kinds.most_common():
        print(f"  {kind:<16} {count:>7,}")
    print("\nrows created or changed (what the ledger and entitlement checks judged):")
    for table, count in result.changes.most_common():
        print(f"  {table:<22} {count:>7,}")
    print("\nviolations by invariant:")
    for invariant in INVARIANTS:
        print(f"  {invariant:<22} {result.count(invariant):>7,}")
    print("\nviolations by kind:")
    for kind, count in sorted(result.by_kind().items()):
        print(f"  {kind:<44} {count:>7,}")
    faults = result.faults()
    print(f"\n{len(faults)} distinct faults (first occurrence; the actor's actions just before):")
    for violation, count in faults:
        finding = violation.finding
        print(f"- [{finding.invariant}] {finding.signature} ({count:,}x)")
        print("    " + violation.describe())


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--actions", type=int, default=DEFAULT_ACTIONS, help="random actions")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="chooses every action")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    print(f"fuzzing: {args.actions:,} actions, seed {args.seed}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-fuzz-") as tmp:
        result = asyncio.run(run_fuzz(Path(tmp), seed=args.seed, actions=args.actions))
    report(result)
    figures = result.figures()
    figures["actions_per_s"] = round(result.actions / result.seconds)
    figures["violations_by_kind"] = dict(sorted(result.by_kind().items()))
    print_result(figures)


if __name__ == "__main__":
    main()
