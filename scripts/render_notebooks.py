#!/usr/bin/env python
"""Render executed notebooks as small HTML pages and a picture each, for docs/notebooks.

Each notebook is run top to bottom (its kernel inherits the environment, so
GRIDWATCH_DATABASE_URL names the store it opens) and fails the script when a cell raises.
The page is nbconvert's HTML body in a compact stylesheet of its own (JupyterLab's
embeds some 270 kB of CSS in every page), with every picture re-encoded as a palette PNG
(a few hundred colours are all a map or a chart uses). Beside each page, NAME.png is its
first picture, the one docs link to; a notebook without any picture is an error.

Example: GRIDWATCH_DATABASE_URL=sqlite:///var/gridwatch.db \\
    .venv/bin/python scripts/render_notebooks.py --out docs/notebooks notebooks/*.ipynb
"""

from __future__ import annotations

import argparse
import base64
import html
import io
import re
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbconvert import HTMLExporter
from PIL import Image
from pygments.formatters import HtmlFormatter

PNG = re.compile(r"data:image/png;base64,([A-Za-z0-9+/=]+)")
STYLE = """
body { font: 15px/1.5 system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em;
  color: #222; }
.jp-InputPrompt, .jp-OutputPrompt { display: none; }
.jp-CodeCell .jp-InputArea { background: #f6f8fa; border-radius: 4px; padding: 0.2em 0.8em;
  margin: 1em 0 0.4em; font-size: 13px; overflow-x: auto; }
pre { margin: 0.3em 0; white-space: pre-wrap; }
.jp-OutputArea-output pre { font-size: 13px; }
.jp-RenderedText[data-mime-type="application/vnd.jupyter.stderr"] { display: none; }
img { max-width: 100%; height: auto; }
table { border-collapse: collapse; font-size: 13px; margin: 0.5em 0; }
th, td { border-bottom: 1px solid #ddd; padding: 0.2em 0.6em; text-align: right; }
thead th { border-bottom: 2px solid #999; }
h1, h2, h3 { line-height: 1.2; }
"""


def execute(path: Path, timeout: int) -> nbformat.NotebookNode:
    """The notebook run top to bottom in its own folder; raises on a cell's error."""
    book = nbformat.read(path, as_version=4)
    client = NotebookClient(
        book,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    return book


def small_png(data: bytes, colours: int) -> bytes:
    """The picture as a palette PNG of at most ``colours`` colours, if that is smaller."""
    image = Image.open(io.BytesIO(data))
    palette = image.convert("RGB").quantize(colors=colours, method=Image.Quantize.MEDIANCUT)
    out = io.BytesIO()
    palette.save(out, format="PNG", optimize=True)
    return out.getvalue() if out.tell() < len(data) else data


def page(book: nbformat.NotebookNode, title: str, colours: int) -> tuple[str, bytes | None]:
    """The HTML page of an executed notebook and its first picture."""
    first: bytes | None = None
    for cell in book.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if "image/png" in data:
                png = small_png(base64.b64decode(data["image/png"]), colours)
                data["image/png"] = base64.b64encode(png).decode("ascii")
                first = first or png
    body, _ = HTMLExporter(template_name="basic").from_notebook_node(book)
    code_style = HtmlFormatter(style="default").get_style_defs(".highlight")
    text = (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n<style>{STYLE}{code_style}</style></head>\n"
        f"<body>\n{body}\n</body></html>\n"
    )
    return text, first


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Example: GRIDWATCH_DATABASE_URL=sqlite:///var/gridwatch.db .venv/bin/python "
        "scripts/render_notebooks.py --out docs/notebooks notebooks/*.ipynb",
    )
    parser.add_argument("notebooks", nargs="+", type=Path, help="the .ipynb files to render")
    parser.add_argument("--out", type=Path, default=Path("docs/notebooks"), help="output folder")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds a cell may take")
    parser.add_argument("--colours", type=int, default=256, help="palette size of the pictures")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for path in args.notebooks:
        book = execute(path, args.timeout)
        headings = [c.source for c in book.cells if c.cell_type == "markdown" and c.source]
        title = headings[0].splitlines()[0].lstrip("# ") if headings else path.stem
        text, first = page(book, title, args.colours)
        if first is None:
            print(f"{path}: draws no map or chart", file=sys.stderr)
            return 1
        (args.out / f"{path.stem}.html").write_text(text, encoding="utf-8")
        (args.out / f"{path.stem}.png").write_bytes(first)
        size = len(text.encode()) / 1e3
        print(f"{path.stem}: {size:.0f} kB page, {len(first) / 1e3:.0f} kB picture")
    return 0


if __name__ == "__main__":
    sys.exit(main())
