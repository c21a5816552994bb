"""What a reader must never meet on a rendered page: the faults a test reads every page of a report for.

`faults(folder)` returns one line per fault found in the report folder's HTML pages: a heading with nothing
under it, an interval whose bounds are equal, a value from the code shown raw (nan, None, True, False, a
signal's or a column's name), a link to a file the folder lacks, and number slips ("1 rows", "run(s)").
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from bs4 import BeautifulSoup

from workbench.measure.columns import COLUMNS, SIGNALS
from workbench.tables import LABELS

HEADINGS = ["h1", "h2", "h3", "h4"]
RAW_VALUES = re.compile(r"(?<![\w.-])(nan|NaN|None|True|False|inf)(?![\w-])")
EQUAL_BOUNDS = re.compile(r"\[\s*([+-]?[\d.,]+%?)\s*,\s*\1\s*\]")
SLIPS = re.compile(
    r"(?<![\d.,])1 (rows|runs|decisions|renewal decisions|accounts|contracts|warnings|contacts|goals|signals|"
    r"tables|earlier runs|days|months|CSMs|features)\b|\w\(s\)|\ba (activities|account|accounts|export|interval|"
    r"event|AUC)\b"
)
# Names from the code a reader should never see: signals and result columns in snake_case, and acronyms merely
# capitalized ("Nps" for NPS).
CODE_NAMES = sorted({c for c in (*SIGNALS, *LABELS, *COLUMNS) if "_" in c} - {"account_id"})
CAPITALIZED = {s.capitalize() for s in SIGNALS if s in COLUMNS and COLUMNS[s].label.isupper()}
# Where the words name what to export (columns of the contract), raw names are the point; so in a file's listing.
EXPORT_NOTES = ("wb-missing", "wb-warning")


def faults(folder: Path) -> list[str]:
    found = []
    for page in sorted(Path(folder).glob("*.html")):
        found += [f"{page.name}: {fault}" for fault in page_faults(page)]
    return found


def page_faults(page: Path) -> list[str]:
    markup = page.read_text(encoding="utf-8")
    soup = BeautifulSoup(markup, "html.parser")
    for hidden in soup(["script", "style", "head"]):
        hidden.decompose()
    found = [f"chart: {fault}" for fault in chart_faults(markup)]
    notebook = soup.find(class_="jp-Notebook") is not None  # a study page, not an index
    found += [f"heading with nothing under it: {h!r}" for h in empty_headings(soup)] if notebook else []
    text = " ".join(soup.get_text(" ").split())
    found += [f"interval with equal bounds: {m.group(0)!r} in {around(text, m)}" for m in EQUAL_BOUNDS.finditer(text)]
    found += [f"raw value {m.group(1)!r} in {around(text, m)}" for m in RAW_VALUES.finditer(text)]
    found += [f"number or article slip {m.group(0)!r} in {around(text, m)}" for m in SLIPS.finditer(text)]
    for note in [*soup.find_all(class_=list(EXPORT_NOTES)), *soup.find_all("pre")]:
        note.decompose()
    readable = " ".join(soup.get_text(" ").split())
    for name in CODE_NAMES:
        for m in re.finditer(rf"(?<![\w.]){re.escape(name)}(?![\w.])", readable):
            found.append(f"name from the code {name!r} in {around(readable, m)}")
    for name in CAPITALIZED:
        for m in re.finditer(rf"\b{re.escape(name)}\b", readable):
            found.append(f"a signal's name capitalized, not its label: {name!r} in {around(readable, m)}")
    for link in soup.find_all(["a", "img", "link"]):
        target = link.get("href") or link.get("src") or ""
        if target and not re.match(r"^(https?:|mailto:|#|data:)", target) and not (page.parent / target).exists():
            found.append(f"links {target!r}, which the folder lacks")
    return found


def chart_faults(markup: str) -> list[str]:
    """The words a chart shows (titles, axis titles, trace names, category labels), read for the same faults."""
    found = []
    for payload in re.findall(r"var f=(\{.*?\});Plotly\.newPlot", markup):
        words = [w for w in _strings(json.loads(payload)) if re.search(r"[A-Za-z]", w)]
        for word in words:
            if RAW_VALUES.search(word) or any(re.search(rf"(?<![\w.]){n}(?![\w.])", word) for n in CODE_NAMES):
                found.append(f"raw value or name from the code in {word!r}")
            if any(re.search(rf"\b{n}\b", word) for n in CAPITALIZED):
                found.append(f"an acronym capitalized as a word in {word!r}")
    return found


def _strings(spec, key: str = "") -> list[str]:
    if isinstance(spec, str):
        return [spec] if key in ("x", "y", "name", "text", "title", "labels", "ticktext") else []
    if isinstance(spec, list):
        return [s for item in spec for s in _strings(item, key)]
    if isinstance(spec, dict):
        skip = ("hovertemplate", "texttemplate", "template", "customdata", "marker", "line", "font")
        return [s for k, v in spec.items() if k not in skip for s in _strings(v, k)]
    return []


def empty_headings(soup) -> list[str]:
    """Section headings (below the page's title) followed by no result before the next heading: no output of
    the notebook's code with text, a table or a chart; an explanation alone is an empty shell."""
    empty = []
    for heading in soup.find_all(HEADINGS[1:]):
        filled = False
        for element in heading.find_all_next():
            if element.name in HEADINGS:
                break
            if "jp-OutputArea-output" in (element.get("class") or []) and (
                element.get_text(strip=True) or element.find(["table", "img"]) or element.find(class_="wb-chart")
            ):
                filled = True
                break
        if not filled:
            empty.append(heading.get_text(" ", strip=True).replace("¶", "").strip())
    return empty


def around(text: str, match, width: int = 70) -> str:
    return repr(text[max(0, match.start() - width) : match.end() + width])
