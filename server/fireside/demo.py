"""`scripts/demo`: start the server over stdio on the bundled sample project, ask for completions as
an editor would, print them with their latency."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from fireside.editor_session import EditorSession

# (file, the line to complete, how much of it is already typed)
HOLES = [
    ("shop/cart.py", "        self.quantities[sku] += quantity", "        self.quantities[sku] "),
    ("shop/cart.py", "        return self.subtotal() + self.vat()", "        return "),
    ("shop/catalog.py", "        return [product for product in self._products.values() if tag in product.tags]", "        return [product for "),
    ("shop/invoice.py", '    rows.append(f"{\'Total\':<30}{cart.total():>10}")', "    rows.append(f\"{'Total'"),
]


async def run_demo(project: Path, console: Console) -> int:
    from fireside.models.catalog import read_default_choice, resolve_model

    console.print(f"[bold]Fireside demo[/bold] — sample project: {project}")
    choice = read_default_choice()
    resolved = resolve_model(None)
    how = {"measurement": "chosen for this machine by measurement", "user": "your choice"}.get(choice.by, "the catalog's default")
    console.print(f"default model: [cyan]{choice.name}[/cyan] ({how})")
    if resolved.problem:
        console.print(f"[yellow]{resolved.problem}: the demo runs on the fallback {resolved.name}[/yellow]")
    async with EditorSession("--debounce-ms", "0", root=project) as editor:
        status = await editor.wait_until_loaded()
        console.print(f"serving: [cyan]{status.get('model')}[/cyan] ({status.get('state')}) from {resolved.path}")
        if status.get("state") != "ready":
            console.print(f"[red]the model did not load: {status.get('message')}[/red]")
            return 1
        table = Table(title="Completions through textDocument/inlineCompletion")
        for column in ("file:line", "typed", "completion", "cold ms", "warm ms"):
            table.add_column(column, overflow="fold")
        for relative, full_line, typed in HOLES:
            path = project / relative
            source = path.read_text()
            start = source.index(full_line)
            text = source[: start + len(typed)] + source[start + len(full_line) :]
            line = source[:start].count("\n")
            uri = editor.open(path, text)
            cold = await editor.inline(uri, line, len(typed))
            warm = await editor.inline(uri, line, len(typed))  # the same request again: KV cache reused
            table.add_row(
                f"{relative}:{line + 1}", typed.strip(), cold.text or "[dim](nothing)[/dim]", f"{cold.milliseconds:.0f}", f"{warm.milliseconds:.0f}"
            )
        console.print(table)
        # Typing a line character by character, asking after each keystroke as an editor would.
        path = project / "shop" / "invoice.py"
        source = path.read_text()
        uri = editor.open(path, source)
        line = source.rstrip("\n").count("\n")
        console.print("\n[bold]Typing[/bold] `    best = min(` in cheapest_line(), one request per keystroke:")
        column = 4
        for char in "best = min(":
            editor.insert(uri, line, column, char)
            column += 1
            result = await editor.inline(uri, line, column)
            console.print(f"  {column:>3}  {result.milliseconds:7.0f} ms  → {result.text!r}")
    return 0


def main() -> int:
    project = (Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "eval" / "sample_project").resolve()
    return asyncio.run(run_demo(project, Console()))


if __name__ == "__main__":
    sys.exit(main())
