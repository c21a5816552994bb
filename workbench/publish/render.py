"""Executed notebook -> an HTML page for readers: no code, no prompts, nothing fetched from a network."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter
from nbconvert.preprocessors import Preprocessor

from .report import MISSING, PLOTLY_JS, SKIPPED

TEMPLATES = Path(__file__).parent / "templates"
PAGE_CSS = "page.css"


class DropStderr(Preprocessor):
    """Warnings printed to stderr are for the analyst's notebook, not the leader's page."""

    def preprocess_cell(self, cell, resources, index):
        if cell.get("outputs"):
            cell.outputs = [o for o in cell.outputs if not (o.output_type == "stream" and o.name == "stderr")]
        return cell, resources


class DropEmptySections(Preprocessor):
    """No heading with nothing under it: a section (a markdown heading and the cells up to the next one)
    whose code printed nothing, or only notes of what this data cannot show, is dropped; those notes are
    listed once at the page's end. A page that cannot run at all keeps its title and the note saying why."""

    def preprocess(self, notebook, resources):
        sections, skipped = _sections(notebook.cells), []
        cannot_run = any(_marked(o, MISSING) for cell in notebook.cells for o in cell.get("outputs", []))
        kept = list(sections[0])
        for section in sections[1:]:
            outputs = [o for cell in section for o in cell.get("outputs", [])]
            notes = [o for o in outputs if _marked(o, SKIPPED)]
            if len(notes) < len(outputs) and not cannot_run:
                kept.extend(section)
            else:
                skipped.extend(_text(o) for o in notes)
        if skipped and not cannot_run:
            items = "".join(f"<li>{item}</li>" for item in dict.fromkeys(skipped))
            kept.append(
                nbformat.v4.new_markdown_cell(
                    f'<div class="{SKIPPED}"><p>What this data could not show here:</p><ul>{items}</ul></div>'
                )
            )
        notebook.cells = kept
        return notebook, resources


def _sections(cells) -> list[list]:
    """The cells in sections: each starts at a markdown cell with a heading; the first holds the title."""
    sections = [[]]
    for cell in cells:
        if cell.cell_type == "markdown" and re.match(r"\s*#", cell.source) and sections[0]:
            sections.append([])
        sections[-1].append(cell)
    return sections


def _html(output) -> str:
    return output.get("data", {}).get("text/html", "") if output.get("output_type") != "stream" else ""


def _marked(output, css_class: str) -> bool:
    return f'class="{css_class}"' in _html(output)


def _text(output) -> str:
    """A note's escaped HTML content, without its paragraph and its 'Not shown: ' lead."""
    inner = re.sub(r"^<p[^>]*>|</p>$", "", _html(output).strip())
    return inner.removeprefix("Not shown: ")


def to_html(notebook_path: Path, html_path: Path, title: str) -> Path:
    exporter = HTMLExporter(
        template_name="offline",
        extra_template_basedirs=[str(TEMPLATES)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    exporter.register_preprocessor(DropStderr, enabled=True)
    exporter.register_preprocessor(DropEmptySections, enabled=True)
    notebook = nbformat.read(notebook_path, as_version=4)
    notebook.metadata["title"] = title
    notebook.metadata["plotly_js"] = PLOTLY_JS
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
