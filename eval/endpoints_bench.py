"""Throughput of N concurrent editors against two remote engines versus one, in the same run.

    .venv/bin/python eval/endpoints_bench.py [--editors 4] [--requests 6] [--max-tokens 24] [--threads 1]

Starts two real llama-cpp-python servers (`python -m llama_cpp.server`, the embedded Gemma 3 270M,
``--threads`` each) on loopback. Each editor is what one `fireside serve --endpoint ...` holds: its own
``EndpointEngine`` (own pool, own least-outstanding-requests picks), running the real completion
pipeline sequentially on holes in eval/sample_project's files. The same requests run against one
endpoint, then against both; reported: completions/s, p50 and p90 latency, and the ratio two/one.

The ceiling, measured first in the same run without Fireside: the same number of plain
``/v1/completions`` requests (``--max-tokens`` each) sent to one server in a row, then split over the
two servers at once. On a machine with fewer free cores than engines the two servers compete for CPU,
and that raw ratio is what the balancing can at best reach.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

from fireside.completion.default_model import default_model_path
from fireside.completion.pipeline import complete
from fireside.completion.types import CompletionRequest
from fireside.endpoints.engine import EndpointEngine, LocalTokenizer

SAMPLE = Path(__file__).resolve().parent / "sample_project"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(threads: int) -> tuple[str, subprocess.Popen[bytes]]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(default_model_path()), "--host", "127.0.0.1",
         "--port", str(port), "--n_threads", str(threads), "--n_threads_batch", str(threads), "--n_ctx", "2048"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/v1/models", timeout=2).ok:
                return url, process
        except requests.RequestException:
            time.sleep(0.3)
    raise SystemExit(f"llama_cpp.server on {url} did not start")


def holes(count: int, seed: int) -> list[CompletionRequest]:
    """Cursor positions at the start of indented statements in the sample project (the line cut away)."""
    rng = random.Random(seed)
    found = []
    for path in sorted(SAMPLE.rglob("*.py")):
        text = path.read_text()
        offset = 0
        for line in text.split("\n"):
            if line.startswith("    ") and len(line.strip()) > 10 and not line.strip().startswith(("#", '"')):
                cursor = offset + len(line) - len(line.lstrip())
                found.append((path, text[:cursor] + text[offset + len(line) :], cursor))
            offset += len(line) + 1
    picked = rng.sample(found, count)
    return [
        CompletionRequest(uri=path.as_uri(), language_id="python", text=text, offset=cursor, version=1, max_tokens=0)
        for path, text, cursor in picked
    ]


def run(urls: list[str], editors: int, per_editor: list[list[CompletionRequest]], max_tokens: int) -> dict[str, float]:
    engines = [
        EndpointEngine(urls, context_size=2048, timeout_s=120, api_key=None,
                       local_tokenizer=lambda: LocalTokenizer(default_model_path()), local_engine=None)
        for _ in range(editors)
    ]
    latencies: list[float] = []
    empty = 0
    lock = threading.Lock()

    def editor(engine: EndpointEngine, requests_: list[CompletionRequest]) -> None:
        nonlocal empty
        for request in requests_:
            request = CompletionRequest(**{**request.__dict__, "max_tokens": max_tokens})
            started = time.perf_counter()
            completion = complete(engine, request, max_prompt_tokens=512, context_size=2048, cancelled=lambda: False,
                                  features=frozenset({"imports", "scopes"}))
            with lock:
                latencies.append(time.perf_counter() - started)
                empty += not completion.text

    started = time.perf_counter()
    threads = [threading.Thread(target=editor, args=(engine, per_editor[index])) for index, engine in enumerate(engines)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    served = {state.url: state.served for state in engines[0].pool.snapshot()}
    for engine in engines:
        served = {url: sum(s.served for e in engines for s in e.pool.snapshot() if s.url == url) for url in urls}
        engine.close()
    ordered = sorted(latencies)
    return {
        "completions": len(latencies),
        "wall_s": wall,
        "per_s": len(latencies) / wall,
        "p50_ms": statistics.median(latencies) * 1000,
        "p90_ms": ordered[int(0.9 * (len(ordered) - 1))] * 1000,
        "empty": empty,
        "served": served,
    }


def raw_ceiling(urls: list[str], count: int, max_tokens: int) -> tuple[float, float]:
    """Seconds for ``count`` plain completions on the first server in a row, and spread over all at once."""

    def ask(url: str, index: int) -> None:
        requests.post(
            f"{url}/v1/completions",
            json={"prompt": f"{index}, {index + 1}, {index + 2},", "max_tokens": max_tokens, "temperature": 0},
            timeout=600,
        ).raise_for_status()

    started = time.perf_counter()
    for index in range(count):
        ask(urls[0], index)
    sequential = time.perf_counter() - started
    started = time.perf_counter()
    workers = [
        threading.Thread(target=lambda lane=lane: [ask(urls[lane], i) for i in range(lane, count, len(urls))])
        for lane in range(len(urls))
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sequential, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--editors", type=int, default=4)
    parser.add_argument("--requests", type=int, default=6, help="completions per editor")
    parser.add_argument("--max-tokens", type=int, default=24)
    parser.add_argument("--threads", type=int, default=1, help="llama.cpp threads per engine server")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}, editors: {args.editors}, completions per editor: {args.requests}, "
          f"max tokens: {args.max_tokens}, threads per engine: {args.threads}", file=sys.stderr)
    servers = [start_server(args.threads) for _ in range(2)]
    try:
        requests_ = holes(args.editors * args.requests, args.seed)
        per_editor = [requests_[index :: args.editors] for index in range(args.editors)]
        # A warm-up request per server, so neither configuration pays for the first page-in.
        run([url for url, _ in servers], 2, [requests_[:1], requests_[1:2]], args.max_tokens)
        sequential, spread = raw_ceiling([url for url, _ in servers], 8, args.max_tokens)
        one = run([servers[0][0]], args.editors, per_editor, args.max_tokens)
        two = run([url for url, _ in servers], args.editors, per_editor, args.max_tokens)
    finally:
        for _, process in servers:
            process.send_signal(signal.SIGKILL)
            process.wait()
    print("| engines | completions | wall s | completions/s | p50 ms | p90 ms | empty | per endpoint |")
    print("|---|---|---|---|---|---|---|---|")
    for label, result in (("one", one), ("two", two)):
        print(f"| {label} | {result['completions']} | {result['wall_s']:.1f} | {result['per_s']:.2f} | "
              f"{result['p50_ms']:.0f} | {result['p90_ms']:.0f} | {result['empty']} | "
              f"{', '.join(str(count) for count in result['served'].values())} |")
    print(f"\nthroughput two/one: {two['per_s'] / one['per_s']:.2f}x; p50 latency two/one: "
          f"{two['p50_ms'] / one['p50_ms']:.2f}x")
    print(f"raw ceiling (no Fireside, 8 plain completions): one server in a row {sequential:.1f} s, "
          f"two servers at once {spread:.1f} s: {sequential / spread:.2f}x")
    print(f"load average at the end: {', '.join(f'{value:.1f}' for value in os.getloadavg())}")


if __name__ == "__main__":
    main()
