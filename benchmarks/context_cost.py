"""What the context strategies cost over a long conversation session, measured on the simulator.

    .venv/bin/python benchmarks/context_cost.py [--turns 60] [--seed 14]

One conversation session of N turns (utterances of 1 to 4 s, the same for every strategy) runs
through the daemon's own protocol machine against the local simulator, whose usage model is
described in polybot_device/simulator/usage.py (1 token per 100 ms of user audio, 1 per 50 ms of
assistant audio, the whole remaining conversation as input, a cached share for an unchanged
prefix). For each strategy it prints the input tokens of the responses at turn 5 and at the last
turn, the largest after turn 5, the cached share of all input, the estimated cost of the last
response and of the session, and the cost per translated minute (with the default price table).
Takes a few seconds; the figures are deterministic.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from polybot_device.config import ContextConfig, PricesConfig  # noqa: E402
from polybot_device.cost.meter import OUTPUT_AUDIO_TOKENS_PER_S  # noqa: E402
from polybot_device.cost.prices import response_cost  # noqa: E402
from tests.rig.turns import config_with, run_conversation, utterance_lengths_ms  # noqa: E402

STRATEGIES = {
    "off (no context control)": ContextConfig(strategy="off"),
    "delete, keep 1 turn (default)": ContextConfig(strategy="delete", keep_turns=1),
    "delete, keep 2 turns": ContextConfig(strategy="delete", keep_turns=2),
    "truncation 400 tokens, keep 0.2": ContextConfig(strategy="truncation", max_tokens=400, retention_ratio=0.2),
    "truncation 600 tokens, keep 0.5": ContextConfig(strategy="truncation", max_tokens=600, retention_ratio=0.5),
}


async def measure(turns: int, seed: int) -> list[str]:
    lengths = utterance_lengths_ms(turns, seed)
    prices = PricesConfig()
    rows = ["| strategy | input tokens turn 5 | last turn | last / turn 5 | max after turn 5 | cached share "
            "| cost last response | cost of session | per translated minute |", "|---|" + "---:|" * 8]
    for name, context in STRATEGIES.items():
        run = await run_conversation(config_with(context), lengths)
        usages = run.usages
        costs = [response_cost(u, prices) for u in usages]
        inputs = [u.input_tokens for u in usages]
        cached = sum(u.cached_tokens for u in usages) / max(1, sum(inputs))
        minutes = sum(u.output_audio for u in usages) / OUTPUT_AUDIO_TOKENS_PER_S / 60
        rows.append(f"| {name} | {inputs[4]} | {inputs[-1]} | {inputs[-1] / inputs[4]:.2f} | {max(inputs[4:])} "
                    f"| {cached:.0%} | ${costs[-1]:.4f} | ${sum(costs):.3f} | ${sum(costs) / minutes:.3f} |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=60)
    parser.add_argument("--seed", type=int, default=14)
    args = parser.parse_args()
    rows = asyncio.run(measure(args.turns, args.seed))
    print(f"{args.turns}-turn conversation session, utterances 1-4 s (seed {args.seed}):\n")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
