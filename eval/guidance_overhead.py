"""What name guidance adds per token, without the model's time: the token choice alone, greedy vs
guided, on the real model's logits (issue 18).

    .venv/bin/python eval/guidance_overhead.py [--model PATH] [--repeat 300]

One prompt (the sample project's ``Cart.remove`` with ``del self.quan`` typed) gives real logits;
the choice is then timed on them: plain greedy, guided outside any slot (the slot scan only),
guided in the ``self.quan`` slot where the model's best token fits (a made-up member that it
spells), and where it does not (the best token that does is searched in logit order, then among
every spelling of a valid name).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from fireside.completion.decoding import GreedyChooser
from fireside.completion.engine import LlamaEngine
from fireside.completion.guidance import GuidedChooser, NameGuide
from fireside.context.names import NameQuery, NameService, NameSet, NameTable
from fireside.models.catalog import resolve_model_path

SAMPLE = Path(__file__).resolve().parent / "sample_project"


def timed(function, repeat: int) -> float:  # noqa: ANN001
    """Median microseconds per call."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--repeat", type=int, default=300)
    args = parser.parse_args()
    model = args.model or resolve_model_path()
    engine = LlamaEngine(model, context_size=2048, threads=1)
    engine.prepare_guidance()
    path = SAMPLE / "shop" / "cart.py"
    source = path.read_text()
    start = source.index("del self.quantities")
    text = source[:start] + "del self.quan" + source[source.index("\n", start):]
    offset = start + len("del self.quan")
    names = NameService()
    table = names.table(NameQuery(text, offset, str(path), str(SAMPLE), "python")).result()
    names.shutdown(wait=True)
    prompt = engine.start_tokens + engine.tokenize(text[:offset])[-400:]
    logits = engine.logits_after(prompt)
    best = int(logits.argmax())
    greedy = GreedyChooser()
    lead = text[:offset][-400:]
    in_slot = GuidedChooser(NameGuide(lead, table), engine._vocab_text(), engine.is_end)
    outside = GuidedChooser(NameGuide(text[: text.index("class Cart")][-400:], table), engine._vocab_text(), engine.is_end)
    # The same slot where the model's best token fits: its members plus the name the model wants.
    wanted = "quan" + engine.detokenize([best])
    fits_table = NameTable(members={"self": NameSet([*table.members["self"].names, wanted])})
    fitting = GuidedChooser(NameGuide(lead, fits_table), engine._vocab_text(), engine.is_end)
    rows = {
        "greedy": timed(lambda: greedy.choose(logits, [], ""), args.repeat),
        "guided, outside a slot": timed(lambda: outside.choose(logits, [], ""), args.repeat),
        "guided, self.quan slot, the best token fits": timed(lambda: fitting.choose(logits, [], ""), args.repeat),
        "guided, self.quan slot, the best does not fit": timed(lambda: in_slot.choose(logits, [], ""), args.repeat),
    }
    print(f"model {engine.info.name}, vocabulary {engine.info.vocab_size} tokens; model's best after 'del self.quan': "
          f"{engine.detokenize([best])!r}; guided: {engine.detokenize([in_slot.choose(logits, [], '').token])!r}")
    for name, micros in rows.items():
        print(f"{name:<45} {micros / 1000:7.3f} ms per token  (+{(micros - rows['greedy']) / 1000:.3f} ms)")
    engine.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
