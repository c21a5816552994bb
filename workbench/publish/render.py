"""Executed notebook -> an HTML page for readers: no code, no prompts, nothing fetched from a network."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbconvert import HTMLExporter
from nbconvert.preprocessors import Preprocessor

TEMPLATES = Path(__file__).parent / "templates"
PAGE_CSS = "page.css"


class DropStderr(Preprocessor):
    """Warnings printed to stderr are for the analyst's notebook, not the leader's page."""

    def preprocess_cell(self, cell, resources, index):
        if cell.get("outputs"):
            cell.outputs = [o for o in cell.outputs if not (o.output_type == "stream" and o.name == "stderr")]
        return cell, resources


def to_html(notebook_path: Path, html_path: Path, title: str) -> Path:
    exporter = HTMLExporter(
        template_name="offline",
        extra_template_basedirs=[str(TEMPLATES)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    exporter.register_preprocessor(DropStderr, enabled=True)
    notebook = nbformat.read(notebook_path, as_version=4)
    notebook.metadata["title"] = title
    body, _ = exporter.from_notebook_node(notebook)
    html_path.write_text(body, encoding="utf-8")
    return html_path


def write_page_css(folder: Path) -> Path:
    """The lab theme's stylesheet, once per report folder, for the pages that link it."""
    exporter = HTMLExporter(template_name="lab")
    parts = []
    for name in ("static/index.css", "static/theme-light.css"):
        found = next((Path(base) / name for base in exporter.template_paths if (Path(base) / name).exists()), None)
        if found is None:
            raise FileNotFoundError(f"nbconvert's lab template has no {name}")
        parts.append(found.read_text(encoding="utf-8"))
    path = Path(folder) / PAGE_CSS
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
