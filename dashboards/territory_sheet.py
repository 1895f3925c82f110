"""The printable territory sheet (« Imprimer / PDF » on Synthèse and Territoires): what the page shows, as an A4
PDF of one or two pages.

Pure: text in, PDF bytes out; no Streamlit call, and no figure computed, masked or formatted here. The page hands
over its own table as displayed (`display.displayed`: French text, masked cells already reading « secret
statistique »), its notes and the facts of the view, so the sheet shows exactly what the page shows to the same
person, for the same territory and period. A table too long for two pages keeps the rows the page pins (the chosen
territory) first, then the others in the page's order, and says how many rows it leaves out.

The layout is computed here (line breaks, row heights, page breaks) so that the sheet is cut before it is drawn;
the text is embedded in DejaVu Sans (from matplotlib's package data, subset into the file): the PDF core fonts
stop at cp1252, and French figures and names need more (narrow no-break space, « », –, ’, €, Œ…).
"""

from __future__ import annotations

import importlib.util
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import polars as pl
from fpdf import FPDF

from pipelines.common import formats
from pipelines.publication.disclosure import SECRET

PAGE_WIDTH, PAGE_HEIGHT = 210.0, 297.0  # A4 portrait, in mm (595 × 842 pt)
MARGIN = 14.0
WIDTH = PAGE_WIDTH - 2 * MARGIN
BODY_BOTTOM = PAGE_HEIGHT - 22.0  # the footer lies below
MAX_PAGES = 2
PAD = 1.4  # inner margin of a table cell
FIT = 0.01  # mm: a text measured exactly as wide as its room fits (rounding of the widths' sums)
SITES_LISTED = 8  # beyond, the extraction dates are given as a range

FONT = "DejaVu"
FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf", "I": "DejaVuSans-Oblique.ttf"}
TEXT = (26, 26, 26)
MUTED = (68, 68, 68)  # 9.7:1 on white
RULE = (150, 150, 150)
HEAD_FILL = (226, 231, 238)
ZEBRA = (245, 247, 250)
NOTICE_BAR = (180, 83, 9)
PT = 25.4 / 72  # mm per point

# A line may break at a space before a word, an opening bracket or quote; never inside a figure (`12 345`,
# `45,2 %`, `[40,1 ; 50,3]`), before a colon or a semicolon, nor after an opening « .
_BREAK = re.compile(r"(?<!«)[ \t](?=[^\W\d_]|[(«\"'])")
# Control and format characters (bidirectional overrides, zero-width…) are dropped from any text printed.
_INVISIBLE = {"Cc", "Cf", "Co", "Cs"}
_NUMERIC = re.compile(r"^[-−+±\[]?\d")
PLACEHOLDERS = {"—", SECRET, "non calculé"}  # what a cell of figures may read instead of a figure
_LIGATURES = str.maketrans({"œ": "oe", "Œ": "oe", "æ": "ae", "Æ": "ae", "ß": "ss"})


@dataclass(frozen=True)
class Sheet:
    """What a page shows, as text: `table` is the page's table as displayed (column labels as headers)."""

    page: str  # the page's title: « Synthèse »
    territory: str  # « 51 — Marne »
    period: str  # « 2024 »
    facts: Sequence[tuple[str, str]]  # (label, value): level, period type, figures shown, perimeter…
    table_title: str
    table: pl.DataFrame
    notices: Sequence[str] = ()  # the page's warnings (provisional figures, incomplete period, unmasked site)
    lead: str = ""  # a sentence above the table
    notes: Sequence[str] = ()  # the page's footnotes, printed below the table
    pinned: Sequence[bool] = ()  # per row: kept first when the table must be cut (the chosen territory)
    source: str = "Source : dépôts des PRE."  # repeated in every page's footer

    @property
    def title(self) -> str:
        return f"Fiche territoire — {self.territory} — {self.period}"


def _ascii(text: str) -> str:
    """Lower-case ASCII letters of a text (`Saint-Œuf` → `saint-oeuf`)."""
    return unicodedata.normalize("NFKD", text.translate(_LIGATURES)).encode("ascii", "ignore").decode().lower()


def file_name(*parts: str) -> str:
    """`fiche-51-marne-2024.pdf`: lower-case ASCII letters, digits and hyphens only (no folder, no markup, no
    dot but the extension's), at most 90 characters."""
    words: list[str] = []
    for part in parts:
        words += re.findall(r"[a-z0-9]+", _ascii(part))
    return "-".join(["fiche", *words])[:86].rstrip("-") + ".pdf"


def extraction_dates(dates: Sequence[tuple[str, date]], others: int = 0) -> str:
    """The extraction dates of a territory's sites: each site's (`Reims (PRE51454), le 31/12/2024`) up to
    SITES_LISTED sites, else their range; `others` sites are only counted (their dates are not the reader's to
    see: they are the status of submissions the reader does not follow)."""
    dates = sorted(dates, key=lambda d: (_ascii(d[0]), d[0]))  # « Épernay » among the E
    if not dates and not others:
        return "Dates d'extraction : aucune donnée en vigueur pour ce territoire."
    parts = []
    if len(dates) == 1:
        parts.append(f"Date d'extraction des données en vigueur : {dates[0][0]}, le {formats.day(dates[0][1])}.")
    elif 1 < len(dates) <= SITES_LISTED:
        parts.append("Dates d'extraction des données en vigueur : "
                     + " ; ".join(f"{name}, le {formats.day(day)}" for name, day in dates) + ".")
    elif dates:  # more than SITES_LISTED
        days = [day for _, day in dates]
        parts.append(f"Dates d'extraction des données en vigueur : {formats.plural(len(dates), 'site')}, du "
                     f"{formats.day(min(days))} au {formats.day(max(days))}.")
    if others == 1:
        which = "de l'autre site" if dates else "du site"
        parts.append(f"Date d'extraction {which} du territoire non détaillée (réservée aux personnes qui suivent ses "
                     "dépôts).")
    elif others:
        which = f"des {formats.number(others)} {'autres ' if dates else ''}sites"
        parts.append(f"Dates d'extraction {which} du territoire non détaillées (réservées aux personnes qui suivent "
                     "leurs dépôts).")
    return " ".join(parts)


# --- layout -----------------------------------------------------------------------------------------------


@dataclass
class _Item:
    """A piece of the body, never split across pages: its height and how to draw it at a given top."""

    height: float
    draw: Callable[[FPDF, float], None]
    kind: str = "block"  # "block", "head" (the table's headings, repeated on a new page) or "row"
    keep_with_next: bool = False


def clean(text: object) -> str:
    """Printable text: no control, format or private-use character (a hostile name stays inert text)."""
    return "".join(c for c in unicodedata.normalize("NFC", str(text))
                   if c == "\n" or unicodedata.category(c) not in _INVISIBLE)


def _font(pdf: FPDF, size: float, style: str = "") -> None:
    pdf.set_font(FONT, style, size)


def wrap(pdf: FPDF, text: str, width: float) -> list[str]:
    """The lines of a text in the current font within `width` mm; a word wider than that is cut."""
    lines: list[str] = []
    for paragraph in clean(text).split("\n"):
        line = ""
        for word in _BREAK.split(paragraph):
            candidate = f"{line} {word}" if line else word
            if pdf.get_string_width(candidate) <= width + FIT:
                line = candidate
                continue
            if line:
                lines.append(line)
            while len(word) > 1 and pdf.get_string_width(word) > width + FIT:
                cut = max(1, _fitting(pdf, word, width))
                lines.append(word[:cut])
                word = word[cut:]
            line = word
        lines.append(line)
    return lines


def _fitting(pdf: FPDF, word: str, width: float) -> int:
    """How many first characters of a word fit in `width`."""
    low, high = 0, len(word)
    while low < high:
        middle = (low + high + 1) // 2
        if pdf.get_string_width(word[:middle]) <= width + FIT:
            low = middle
        else:
            high = middle - 1
    return low


def _longest_word(pdf: FPDF, text: str) -> float:
    return max((pdf.get_string_width(w) for w in _BREAK.split(clean(text))), default=0.0)


def _paragraph(pdf: FPDF, text: str, size: float, *, style: str = "", color=TEXT, width: float = WIDTH,
               x: float = MARGIN, space_after: float = 1.5, keep_with_next: bool = False) -> list[_Item]:
    """One item per line (a paragraph may run onto the next page), the space after it on the last."""
    _font(pdf, size, style)
    step = size * PT * 1.35
    lines = wrap(pdf, text, width)
    items = []
    for i, line in enumerate(lines):
        last = i == len(lines) - 1

        def draw(p: FPDF, top: float, line=line) -> None:
            _font(p, size, style)
            p.set_text_color(*color)
            p.text(x, top + step * 0.78, line)

        # A short paragraph stays whole; a long one may run onto the next page.
        items.append(_Item(step + (space_after if last else 0), draw,
                           keep_with_next=keep_with_next or (not last and len(lines) <= 4)))
    return items


def _heading(pdf: FPDF, text: str) -> list[_Item]:
    items = _paragraph(pdf, text, 11.5, style="B", space_after=1.5, keep_with_next=True)
    items[0].height += 2.5  # space above, drawn as an offset

    first = items[0].draw
    items[0].draw = lambda p, top: first(p, top + 2.5)
    return items


def _facts(pdf: FPDF, facts: Sequence[tuple[str, str]]) -> list[_Item]:
    """`Label : value` lines, labels in bold in their own column."""
    size, step = 9.0, 9.0 * PT * 1.4
    _font(pdf, size, "B")
    label_width = min(60.0, max((pdf.get_string_width(clean(label) + " :") for label, _ in facts), default=0) + 3)
    items = []
    for label, value in facts:
        _font(pdf, size)
        lines = wrap(pdf, value, WIDTH - label_width)

        def draw(p: FPDF, top: float, label=label, lines=lines) -> None:
            _font(p, size, "B")
            p.set_text_color(*MUTED)
            p.text(MARGIN, top + step * 0.78, clean(label) + " :")
            _font(p, size)
            p.set_text_color(*TEXT)
            for i, line in enumerate(lines):
                p.text(MARGIN + label_width, top + step * (i + 0.78), line)

        items.append(_Item(step * len(lines) + 0.4, draw))
    items[-1].height += 1.5
    return items


def _notice(pdf: FPDF, text: str) -> list[_Item]:
    """A warning of the page, beside an orange bar."""
    size = 8.5
    step = size * PT * 1.35
    _font(pdf, size)
    lines = wrap(pdf, text, WIDTH - 5)

    def draw(p: FPDF, top: float) -> None:
        p.set_fill_color(*NOTICE_BAR)
        p.rect(MARGIN, top, 1.2, step * len(lines) + 1.0, style="F")
        _font(p, size)
        p.set_text_color(*TEXT)
        for i, line in enumerate(lines):
            p.text(MARGIN + 4, top + 0.5 + step * (i + 0.78), line)

    return [_Item(step * len(lines) + 3.0, draw)]


@dataclass(frozen=True)
class _Grid:
    widths: list[float]
    right: list[bool]  # right-aligned columns (figures)
    size: float = 7.5

    @property
    def step(self) -> float:
        return self.size * PT * 1.3


def _grid(pdf: FPDF, table: pl.DataFrame) -> _Grid:
    """Column widths: each at least its longest word, the rest of the line shared by what the cells need."""
    grid = _Grid([], [])
    _font(pdf, grid.size, "B")
    least = [_longest_word(pdf, c) + 2 * PAD for c in table.columns]
    wish = [pdf.get_string_width(clean(c)) / 2 + 2 * PAD for c in table.columns]  # a heading may take two lines
    _font(pdf, grid.size)
    right = []
    for j, column in enumerate(table.columns):
        cells = [clean(v) for v in table[column].to_list() if v not in (None, "")]
        least[j] = max([least[j]] + [_longest_word(pdf, v) + 2 * PAD for v in cells])
        wish[j] = max([wish[j]] + [pdf.get_string_width(v) + 2 * PAD for v in cells])
        figures = [v for v in cells if v not in PLACEHOLDERS]
        right.append(bool(figures) and sum(bool(_NUMERIC.match(v)) for v in figures) * 2 >= len(figures))
    least = [min(w, WIDTH * 0.45) for w in least]
    wish = [max(w, m) for w, m in zip(wish, least, strict=True)]
    if sum(wish) <= WIDTH:
        widths = [w * WIDTH / sum(wish) for w in wish]
    elif sum(least) >= WIDTH:
        widths = [w * WIDTH / sum(least) for w in least]
    else:
        spare, extra = WIDTH - sum(least), [w - m for w, m in zip(wish, least, strict=True)]
        widths = [m + spare * e / sum(extra) for m, e in zip(least, extra, strict=True)]
    return _Grid(widths, right)


def _row(pdf: FPDF, grid: _Grid, cells: Sequence[str], *, head: bool = False, shade: bool = False) -> _Item:
    style = "B" if head else ""
    _font(pdf, grid.size, style)
    wrapped = [wrap(pdf, "" if c is None else str(c), w - 2 * PAD) for c, w in zip(cells, grid.widths, strict=True)]
    height = max(len(lines) for lines in wrapped) * grid.step + 2 * PAD

    def draw(p: FPDF, top: float) -> None:
        if head or shade:
            p.set_fill_color(*(HEAD_FILL if head else ZEBRA))
            p.rect(MARGIN, top, WIDTH, height, style="F")
        if head:  # body rows are told apart by their shading alone
            p.set_draw_color(*RULE)
            p.set_line_width(0.3)
            p.line(MARGIN, top + height, MARGIN + WIDTH, top + height)
        _font(p, grid.size, style)
        p.set_text_color(*TEXT)
        x = MARGIN
        for lines, width, right in zip(wrapped, grid.widths, grid.right, strict=True):
            for i, line in enumerate(lines):
                left = x + width - PAD - p.get_string_width(line) if right else x + PAD
                p.text(left, top + PAD + grid.step * (i + 0.78), line)
            x += width

    return _Item(height, draw, kind="head" if head else "row", keep_with_next=head)


def _paginate(items: Sequence[_Item]) -> list[list[tuple[_Item, float]]]:
    """Items placed on pages, each with its top; the table's headings again atop a page that starts with rows."""
    pages: list[list[tuple[_Item, float]]] = [[]]
    top, head = MARGIN, None
    for i, item in enumerate(items):
        need, k = item.height, i
        while items[k].keep_with_next and k + 1 < len(items):  # a heading is not left alone at a page's foot
            k += 1
            need += items[k].height
        if top + min(need, BODY_BOTTOM - MARGIN) > BODY_BOTTOM and pages[-1]:
            pages.append([])
            top = MARGIN
            if item.kind == "row" and head is not None:
                pages[-1].append((head, top))
                top += head.height
        pages[-1].append((item, top))
        top += item.height
        head = item if item.kind == "head" else head if item.kind == "row" else None
    return pages


def _footer(pdf: FPDF, sheet: Sheet, generated: datetime, number: int, total: int) -> None:
    size = 7.0
    step = size * PT * 1.35
    _font(pdf, size)
    lines = wrap(pdf, sheet.source, WIDTH - 22)[:2]
    lines.append(f"Évaluation des PRE, page « {clean(sheet.page)} » du tableau de bord — fiche générée le "
                 f"{formats.day(generated)} à {generated:%H:%M}.")
    top = PAGE_HEIGHT - 9.0 - step * len(lines)
    pdf.set_draw_color(*RULE)
    pdf.set_line_width(0.2)
    pdf.line(MARGIN, top - 1.5, MARGIN + WIDTH, top - 1.5)
    pdf.set_text_color(*MUTED)
    for i, line in enumerate(lines):
        pdf.text(MARGIN, top + step * (i + 0.78), line)
    _font(pdf, 8.0, "B")
    mark = f"page {number} / {total}"
    pdf.text(MARGIN + WIDTH - pdf.get_string_width(mark), top + step * 0.78, mark)


def _fonts_folder() -> Path:
    spec = importlib.util.find_spec("matplotlib")  # its data only: matplotlib itself is never imported
    if spec is None or spec.origin is None:
        raise RuntimeError("Police DejaVu Sans introuvable : le paquet matplotlib n'est pas installé.")
    return Path(spec.origin).parent / "mpl-data" / "fonts" / "ttf"


def _new_pdf(sheet: Sheet, generated: datetime) -> FPDF:
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    folder = _fonts_folder()
    for style, name in FONT_FILES.items():
        pdf.add_font(FONT, style, str(folder / name))
    pdf.set_auto_page_break(False)
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.set_title(clean(sheet.title))
    pdf.set_author("Évaluation des PRE")
    pdf.set_creator("Évaluation des PRE — tableau de bord")
    pdf.set_lang("fr-FR")
    pdf.set_creation_date(generated)
    return pdf


def _omitted(left_out: int, total: int, page: str) -> str:
    lines = "ligne" if total < 2 else "lignes"
    return (f"{formats.number(left_out)} {lines} sur {formats.number(total)} du tableau ne figurent pas sur cette "
            f"fiche, limitée à deux pages : le tableau complet est sur la page « {page} » du tableau de bord et "
            "dans ses téléchargements CSV et Excel.")


def render(sheet: Sheet, generated: datetime) -> bytes:
    """The sheet as a PDF: A4, at most two pages; the table cut if it must be, saying how many rows are left
    out. `generated`: the local time printed in the footer."""
    pdf = _new_pdf(sheet, generated)
    before = _paragraph(pdf, sheet.title, 15.0, style="B", space_after=1.0)
    before += _paragraph(pdf, f"Page « {sheet.page} » du tableau de bord d'évaluation des PRE", 9.0, color=MUTED,
                         space_after=3.0)
    before += _facts(pdf, sheet.facts) if sheet.facts else []
    for text in sheet.notices:
        before += _notice(pdf, text)
    before += _heading(pdf, sheet.table_title)
    if sheet.lead:
        before += _paragraph(pdf, sheet.lead, 9.0, space_after=2.0, keep_with_next=True)

    table = sheet.table if sheet.table.width else pl.DataFrame()
    grid = _grid(pdf, table) if table.width else _Grid([], [])
    head = _row(pdf, grid, list(table.columns), head=True) if table.width else None
    rows = [_row(pdf, grid, cells, shade=i % 2 == 1) for i, cells in enumerate(table.rows())]
    pinned = [*sheet.pinned, *[False] * table.height][:table.height]
    priority = [i for i in range(table.height) if pinned[i]] + [i for i in range(table.height) if not pinned[i]]
    after: list[_Item] = []
    for text in sheet.notes:
        after += _paragraph(pdf, text, 7.5, color=MUTED, space_after=1.2)

    def laid_out(kept: int) -> list[list[tuple[_Item, float]]]:
        shown = sorted(priority[:kept])
        items = [*before, *([head] if head else []), *(rows[i] for i in shown)]
        if kept < table.height:
            items += _paragraph(pdf, _omitted(table.height - kept, table.height, sheet.page), 8.0, style="I")
        return _paginate([*items, _Item(2.5, lambda p, top: None), *after])

    pages = laid_out(table.height)
    if len(pages) > MAX_PAGES:
        low, high = 0, table.height - 1  # the most rows that keep the sheet within two pages
        while low < high:
            middle = (low + high + 1) // 2
            if len(laid_out(middle)) <= MAX_PAGES:
                low = middle
            else:
                high = middle - 1
        pages = laid_out(low)
    for number, placed in enumerate(pages, start=1):
        pdf.add_page()
        for item, top in placed:
            item.draw(pdf, top)
        _footer(pdf, sheet, generated, number, len(pages))
    return bytes(pdf.output())
