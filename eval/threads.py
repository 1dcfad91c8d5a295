"""Model latency against threads and prompt length: the measured curves behind the thread policy and
the prompt budget's cost.

    .venv/bin/python eval/threads.py [--model PATH] [--threads 1,2,3,4] [--rounds 3]

For each thread count (interleaved over several rounds, medians reported, so a change of load hits
every count alike): a cold prompt of 512 tokens (tokens/s), one generated token (ms, greedy, one
token per model call), a verification batch of 9 tokens (ms), and a keystroke as the server does it
(4 prompt tokens evaluated, then 12 generated tokens). Then, at the chosen thread count, the cost of
the prompt against its length (the cold evaluation of 128 … 2048 tokens): what a prompt budget costs
when nothing can be reused.
"""

from __future__ import annotations

import argparse
import inspect
import os
import statistics
import sys
import time
from pathlib import Path

from fireside.completion.default_model import default_model_path
from fireside.completion.engine import LlamaEngine

TEXT = Path(inspect.getsourcefile(argparse)).read_text()


def timed(function) -> float:  # noqa: ANN001
    started = time.perf_counter()
    function()
    return (time.perf_counter() - started) * 1000


def measure(engine: LlamaEngine, tokens: list[int]) -> dict[str, float]:
    context = engine._context  # noqa: SLF001 - the context's own costs
    prompt = tokens[:512]
    engine.reset()
    cold = timed(lambda: context.decode(prompt))
    follow = tokens[512:560]

    def generate(count: int) -> None:
        for token in follow[:count]:
            context.decode([token], outputs=(0,))

    context.truncate(512)
    single = timed(lambda: generate(32)) / 32
    context.truncate(512)
    batch = timed(lambda: context.decode(follow[:9], outputs=range(9)))
    context.truncate(508)

    def keystroke() -> None:
        context.decode(prompt[508:512])
        generate(12)

    key = timed(keystroke)
    return {"prompt tok/s": 512 / cold * 1000, "ms/token": single, "batch of 9 ms": batch, "keystroke ms": key}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--threads", default="1,2,3,4")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--lengths", default="128,256,512,1024,2048")
    parser.add_argument("--at", type=int, default=1, help="thread count for the prompt-length curve")
    args = parser.parse_args()
    model = (args.model or default_model_path()).resolve()
    counts = [int(value) for value in args.threads.split(",")]
    engine = LlamaEngine(model, context_size=4096, threads=counts[0])
    tokens = engine.tokenize(TEXT[:40000])
    print(f"model {model.name}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start")
    results: dict[int, list[dict[str, float]]] = {count: [] for count in counts}
    for _ in range(args.rounds):
        for count in counts:
            engine.set_threads(count)
            results[count].append(measure(engine, tokens))
    keys = list(results[counts[0]][0])
    print(f"{'threads':>7} " + " ".join(f"{key:>14}" for key in keys))
    for count in counts:
        print(f"{count:>7} " + " ".join(f"{statistics.median(r[key] for r in results[count]):>14.1f}" for key in keys))
    engine.set_threads(args.at)
    print(f"\ncold prompt cost at {args.at} thread(s):")
    for length in (int(value) for value in args.lengths.split(",")):
        times = []
        for _ in range(args.rounds):
            engine.reset()
            times.append(timed(lambda: engine._context.decode(tokens[:length])))  # noqa: SLF001
        print(f"  {length:>5} tokens  {statistics.median(times):8.0f} ms")
    print(f"load average {os.getloadavg()[0]:.1f} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
