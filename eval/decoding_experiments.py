"""Decoding policies tried for completion quality with the default model (negative results kept).

    cd eval && ../.venv/bin/python decoding_experiments.py [--holes-per-package N] [--seed S]

On the holes of completion_eval.py (prefix-only prompts, the raw engine, no LSP), it compares the
greedy completed line with:
  confidence stop  cut the line at the first token whose probability is below a threshold
  suffix rerank    the K most likely first tokens, each continued greedily to the end of the
                   line, ranked by  w * log P(candidate) + log P(next non-blank line | candidate)
  oracle           the best of the K candidates by edit similarity (an upper bound for reranking)
"""

from __future__ import annotations

import argparse
import statistics

import numpy
from completion_eval import find_holes, similarity
from corpus import corpus_roots

from fireside.completion.default_model import default_model_path
from fireside.completion.engine import LlamaEngine

MAX_LINE_TOKENS = 32


class Scorer:
    def __init__(self) -> None:
        self.engine = LlamaEngine(default_model_path(), context_size=4096, threads=1)

    def log_probabilities_after(self, tokens: list[int]) -> numpy.ndarray:
        logits = self.engine.logits_after(tokens).astype(numpy.float64)
        top = logits.max()
        return logits - top - numpy.log(numpy.exp(logits - top).sum())

    def line_from(self, prompt: list[int], first: int, first_log_p: float) -> tuple[str, float, list[tuple[str, float]]]:
        tokens, score, pieces = [first], first_log_p, []
        token_log_p = first_log_p
        while True:
            text = self.engine.detokenize(tokens)
            pieces.append((text.split("\n")[0], float(numpy.exp(token_log_p))))
            if "\n" in text or len(tokens) >= MAX_LINE_TOKENS or self.engine.is_end(tokens[-1]):
                return text.split("\n")[0], score, pieces
            log_p = self.log_probabilities_after(prompt + tokens)
            token = int(numpy.argmax(log_p))
            token_log_p = float(log_p[token])
            score += token_log_p
            tokens.append(token)

    def continuation_log_p(self, prompt: list[int], text: str) -> float:
        total = 0.0
        context = list(prompt)
        for token in self.engine.tokenize(text)[:24]:
            total += self.log_probabilities_after(context)[token]
            context.append(token)
        return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--holes-per-package", type=int, default=10)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--candidates", type=int, default=4)
    args = parser.parse_args()
    holes = find_holes(corpus_roots(), args.holes_per_package, args.seed)
    scorer = Scorer()
    rows = []
    for hole in holes:
        lines = hole.text.split("\n")
        prefix = "\n".join(lines[: hole.line] + [lines[hole.line][: hole.column]])
        next_line = next((line for line in lines[hole.line + 1 :] if line.strip()), "")
        prompt = scorer.engine.start_tokens + scorer.engine.tokenize(prefix[-4000:])[-1024:]
        first = scorer.log_probabilities_after(prompt)
        candidates = []
        for token in numpy.argsort(-first)[: args.candidates]:
            line, own, pieces = scorer.line_from(prompt, int(token), float(first[token]))
            after = scorer.continuation_log_p(prompt + scorer.engine.tokenize(line + "\n"), next_line + "\n") if next_line else 0.0
            candidates.append({"line": line, "own": own, "suffix": after, "pieces": pieces})
        rows.append((hole, candidates))
        print(f"{len(rows)}/{len(holes)}", flush=True)

    def report(name: str, lines: list[str]) -> None:
        sims = [similarity(line, hole.target) for (hole, _), line in zip(rows, lines)]
        exact = sum(line.strip() == hole.target.strip() for (hole, _), line in zip(rows, lines))
        print(f"{name:<28} edit-sim {statistics.mean(sims):.3f}  exact {exact}/{len(rows)}")

    report("greedy", [candidates[0]["line"] for _, candidates in rows])
    for threshold in (0.1, 0.2, 0.3, 0.5):
        cut = []
        for _, candidates in rows:
            text = ""
            for index, (piece, probability) in enumerate(candidates[0]["pieces"]):
                if index and probability < threshold:
                    break
                text = piece
            cut.append(text)
        report(f"confidence stop < {threshold}", cut)
    for k in range(2, args.candidates + 1):
        for weight in (0.0, 1.0):
            chosen = [max(c[:k], key=lambda c: weight * c["own"] + c["suffix"])["line"] for _, c in rows]
            report(f"suffix rerank K={k} w={weight}", chosen)
    report("oracle (best of K)", [max(c, key=lambda c: similarity(c["line"], h.target))["line"] for h, c in rows])


if __name__ == "__main__":
    main()
