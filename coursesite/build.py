"""Build the course as a static site that works from disk or any static host, with no network.

Each committed (full-mode) chapter becomes one page through nbconvert's lab template with the
scripts it needs served from the site itself: MathJax 3 for the math and the Jupyter widgets
HTML manager for the widgets' saved state (both installed from npm by `make site`). The README
is the front page. Usage: python coursesite/build.py --assets DIR --out DIR.
"""

from __future__ import annotations

import argparse
import html
import importlib.metadata
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = Path(__file__).resolve().parent / "bertlab_site"  # extends nbconvert's lab template
ASSETS_DIR = "assets"
# what the pages load from the npm packages, relative to each package's root
ASSET_FILES = {
    "mathjax": ["es5/tex-svg-full.js", "LICENSE"],
    "html-manager": ["dist/embed.js", "dist/embed.js.LICENSE.txt", "dist/*.woff2", "dist/*.woff",
                     "dist/*.ttf", "dist/*.eot", "dist/*.svg", "package.json"],
}


@dataclass(frozen=True)
class Page:
    source: Path
    output: str
    title: str


def chapter_pages(notebooks: Path) -> list[Page]:
    """One page per numbered chapter, titled by the chapter's first heading."""
    pages = []
    for path in sorted(notebooks.glob("[0-9][0-9]*_*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        first = "".join(notebook.cells[0].source).splitlines()[0] if notebook.cells else path.stem
        pages.append(Page(path, f"{path.stem}.html", first.lstrip("# ").strip()))
    return pages


def readme_notebook(readme: Path) -> nbformat.NotebookNode:
    """The README as a one-cell notebook, with links to chapters pointed at their pages."""
    text = readme.read_text(encoding="utf-8")
    text = re.sub(r"\(notebooks/([0-9][0-9][a-z]?_[\w-]+)\.ipynb\)", r"(\1.html)", text)
    text = re.sub(r"`([0-9][0-9][a-z]?_[\w-]+)\.ipynb`", r"[`\1.ipynb`](\1.html)", text)
    notebook = nbformat.v4.new_notebook()
    notebook.cells.append(nbformat.v4.new_markdown_cell(text))
    notebook.metadata["title"] = "bertlab — BERT from the ground up"
    return notebook


def navigation(pages: list[Page], current: str) -> str:
    """Links to the front page and every chapter, the current one in bold."""
    links = [("index.html", "bertlab")] + [(p.output, p.title.split(" — ")[0]) for p in pages]
    return "".join(
        f'<a href="{href}"{" class=current" if href == current else ""} title="{html.escape(t)}">'
        f"{html.escape(t)}</a>"
        for href, t in links
    )


def pager(pages: list[Page], index: int) -> str:
    """Previous and next chapter at the foot of a chapter page."""
    parts = []
    previous = pages[index - 1] if index > 0 else None
    following = pages[index + 1] if index + 1 < len(pages) else None
    parts.append(f'<a href="{previous.output}">← {html.escape(previous.title)}</a>'
                 if previous else '<a href="index.html">← bertlab</a>')
    if following:
        parts.append(f'<a href="{following.output}">{html.escape(following.title)} →</a>')
    return "".join(parts)


def copy_assets(npm_dir: Path, out: Path) -> None:
    """Copy the few files the pages load out of the npm packages, licences included."""
    packages = {"mathjax": npm_dir / "mathjax", "html-manager": npm_dir / "html-manager"}
    for name, patterns in ASSET_FILES.items():
        target = out / ASSETS_DIR / name
        target.mkdir(parents=True, exist_ok=True)
        for pattern in patterns:
            matches = sorted(packages[name].glob(pattern))
            if not matches:
                raise FileNotFoundError(
                    f"{packages[name]} has no {pattern}: run `make site` to install the site assets"
                )
            for path in matches:
                shutil.copy2(path, target / path.name)
    # the npm package names its licence (BSD-3-Clause, Project Jupyter) without the text, which
    # ships with the same project's Python package
    licence = importlib.metadata.distribution("ipywidgets").read_text("licenses/LICENSE")
    (out / ASSETS_DIR / "html-manager" / "LICENSE").write_text(licence or "", encoding="utf-8")


def build(npm_dir: Path, out: Path) -> list[Path]:
    """Write the front page, every chapter page and the assets into `out`; return the pages."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    copy_assets(npm_dir, out)
    exporter = HTMLExporter(
        template_name=TEMPLATE.name,
        extra_template_basedirs=[str(TEMPLATE.parent)],
        widget_renderer_url=f"{ASSETS_DIR}/html-manager/embed.js",
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    pages = chapter_pages(ROOT / "notebooks")
    written = []
    jobs = [(readme_notebook(ROOT / "README.md"), "index.html", "bertlab", '')]
    for index, page in enumerate(pages):
        notebook = nbformat.read(page.source, as_version=4)
        notebook.metadata["title"] = page.title
        jobs.append((notebook, page.output, page.title, pager(pages, index)))
    for notebook, output, _title, foot in jobs:
        resources = {
            "site_assets": ASSETS_DIR,
            "site_nav": navigation(pages, output),
            "site_pager": foot,
        }
        body, _ = exporter.from_notebook_node(notebook, resources=resources)
        (out / output).write_text(body, encoding="utf-8")
        written.append(out / output)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=Path, required=True, help="folder with the npm packages")
    parser.add_argument("--out", type=Path, required=True, help="folder to write the site into")
    args = parser.parse_args()
    start = time.perf_counter()
    pages = build(args.assets, args.out)
    size = sum(p.stat().st_size for p in args.out.rglob("*") if p.is_file())
    print(f"wrote {len(pages)} pages to {args.out} in {time.perf_counter() - start:.1f} s, "
          f"{size / 1e6:.1f} MB in all; open {args.out / 'index.html'}")


if __name__ == "__main__":
    main()
