"""Rendering the transparency report: HTML, Markdown, the dataset card and the SVG charts.

Reports are built by hand (report_fixtures.py); the renderings are parsed back with real parsers
(html.parser, xml.etree for the SVG, markdown-it for the Markdown, PyYAML for the card's front
matter) rather than matched as strings wherever structure matters.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from html.parser import HTMLParser

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from report_fixtures import (
    HOSTILE,
    ORIGIN,
    empty_report,
    hostile_report,
    human_report,
    mixed_report,
)

from synthguard.ledger.report import charts
from synthguard.ledger.report.card import (
    hub_licence,
    render_dataset_card,
    size_category,
    source_dataset_id,
)
from synthguard.ledger.report.embed import embedded_report
from synthguard.ledger.report.html import render_html
from synthguard.ledger.report.layout import Section, document
from synthguard.ledger.report.markdown import render_markdown
from synthguard.ledger.report.model import GeneratorCount, Stated, TransparencyReport
from synthguard.provenance.errors import InputError

Render = Callable[[TransparencyReport], str]
RENDERERS: dict[str, Render] = {
    "html": render_html,
    "markdown": render_markdown,
    "card": render_dataset_card,
}
REPORTS: dict[str, Callable[[], TransparencyReport]] = {
    "mixed": mixed_report,
    "human": human_report,
    "empty": empty_report,
    "hostile": hostile_report,
}
HEADINGS = [
    "1 General information",
    "1.1 Provider identification",
    "1.2 Model identification",
    "1.3 Modality, overall training data size and other characteristics",
    "2 List of data sources",
    "2.1 Publicly available datasets",
    "2.2 Private non-publicly available datasets obtained from third parties",
    "2.2.1 Datasets commercially licensed by rightsholders or their representatives",
    "2.2.2 Private datasets obtained from other third parties",
    "2.3 Data crawled and scraped from online sources",
    "2.4 User data",
    "2.5 Synthetic data",
    "2.6 Other sources of data",
    "3 Data processing aspects",
    "3.1 Respect of reservation of rights from the text and data mining exception or limitation",
    "3.2 Removal of illegal content",
    "3.3 Other information",
    "Deduplication",
    "Decontamination",
    "Human review",
    "Lineage depth",
    "Ledger checkpoint and tool",
]
"""The Commission's template, section by section with its own numbering; the parts of 3.3
(which the template leaves free) unnumbered."""
SOURCE_SECTIONS = ["2.1", "2.2", "2.2.1", "2.2.2", "2.3", "2.4", "2.5", "2.6"]
SVG = "{http://www.w3.org/2000/svg}"


class _Page(HTMLParser):
    """Start tags, text, section headings and answers of an HTML page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.headings: list[str] = []
        self.answers: dict[str, str] = {}
        self.style = ""
        self._open: list[str] = []
        self._section: list[str] = []
        self._heading: str | None = None
        self._answer = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        self._open.append(tag)
        if tag == "section":
            self._section.append(attributes["id"] or "")
        elif tag in ("h2", "h3", "h4"):
            self._heading = ""
        elif tag == "p" and attributes.get("class") == "answer":
            self._answer = True

    def handle_endtag(self, tag: str) -> None:
        self._open.pop()
        if tag == "section":
            self._section.pop()
        elif tag in ("h2", "h3", "h4") and self._heading is not None:
            self.headings.append(self._heading)
            self._heading = None
        elif tag == "p":
            self._answer = False

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._open and self._open[-1] == "style":
            self.style += data
        if self._heading is not None:
            self._heading += data
        if self._answer and self._open[-1] == "strong":
            self.answers[self._section[-1]] = data


def _page(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    page.close()
    return page


def _markdown_headings(markdown: str) -> list[tuple[str, str | None]]:
    """(heading, the **Label: Yes/No/N/A** line under it, if any) for every ## to #### heading."""
    lines = markdown.splitlines()
    found: list[tuple[str, str | None]] = []
    for i, line in enumerate(lines):
        match = re.fullmatch(r"#{2,4} (.+)", line)
        if match:
            nxt = lines[i + 2] if i + 2 < len(lines) else ""
            answer = re.fullmatch(r"\*\*[^*]+: (Yes|No|N/A)\*\*", nxt)
            found.append((match.group(1), answer.group(1) if answer else None))
    return found


def _markdown_html(markdown: str) -> str:
    # GitHub-like: raw HTML allowed through, pipe tables on.
    html: str = MarkdownIt("commonmark", {"html": True}).enable("table").render(markdown)
    return html


def _front_matter(card: str) -> dict[str, object]:
    assert card.startswith("---\n")
    front, _, _ = card[4:].partition("\n---\n")
    data = yaml.safe_load(front)
    assert isinstance(data, dict)
    return data


# Determinism


@pytest.mark.parametrize("renderer", RENDERERS)
@pytest.mark.parametrize("name", REPORTS)
def test_same_report_renders_to_the_same_bytes(renderer: str, name: str) -> None:
    report = REPORTS[name]()
    first = RENDERERS[renderer](report)
    # What `synthguard audit` does: a report recomputed (here: re-read from its JSON) renders to
    # exactly the same bytes.
    again = RENDERERS[renderer](TransparencyReport.model_validate_json(report.to_json()))
    assert first.encode() == again.encode()
    assert first == RENDERERS[renderer](REPORTS[name]())


def test_a_changed_figure_changes_every_rendering() -> None:
    report = mixed_report()
    changed = mixed_report(samples=1201)
    for render in RENDERERS.values():
        assert render(report) != render(changed)


# Sections and answers


def test_html_has_every_template_section_with_its_answer() -> None:
    page = _page(render_html(mixed_report()))
    assert page.headings == HEADINGS
    assert page.answers == {
        "s2-1": "Yes",
        "s2-2": "Yes",
        "s2-2-1": "Yes",
        "s2-2-2": "No",
        "s2-3": "Yes",
        "s2-4": "No",
        "s2-5": "Yes",
        "s2-6": "No",
        "s3-1": "No",  # one source of four has opt-out facts recorded
        "s3-2": "Yes",
        "s3-3-dedup": "Yes",
        "s3-3-decontamination": "Yes",
        "s3-3-review": "Yes",
    }


def test_html_answers_follow_the_report() -> None:
    page = _page(render_html(human_report()))
    assert page.headings == HEADINGS
    assert [page.answers["s" + n.replace(".", "-")] for n in SOURCE_SECTIONS] == [
        "Yes",
        "No",
        "No",
        "No",
        "No",
        "No",
        "No",
        "No",
    ]
    assert page.answers["s3-1"] == "Yes"  # its one source has opt-out facts recorded
    assert (page.answers["s3-3-decontamination"], page.answers["s3-3-review"]) == ("No", "No")
    # With no source at all, the question does not apply: said, not left blank.
    assert _page(render_html(empty_report())).answers["s3-1"] == "N/A"


def test_markdown_has_every_template_section_with_its_answer() -> None:
    headings = _markdown_headings(render_markdown(mixed_report()))
    assert [h for h, _ in headings] == HEADINGS
    answers = dict(headings)
    sources = [h for h in HEADINGS if h.split(" ")[0] in SOURCE_SECTIONS]
    assert [answers[h] for h in sources] == ["Yes", "Yes", "Yes", "No", "Yes", "No", "Yes", "No"]
    assert answers["1 General information"] is None
    empty = dict(_markdown_headings(render_markdown(empty_report())))
    assert [empty[h] for h in sources] == ["No"] * 8
    assert empty[HEADINGS[14]] == "N/A"


def test_markdown_renders_to_tables_with_the_figures() -> None:
    html = _markdown_html(render_markdown(mixed_report()))
    rows = re.findall(r"<tr>\s*<td>openai</td>\s*<td>gpt-4o-mini</td>(.*?)</tr>", html, re.S)
    assert len(rows) == 1
    assert re.findall(r"<td[^>]*>([^<]*)</td>", rows[0]) == ["2024-07-18", "700", "70.00 %"]
    assert "<strong>Warning:</strong> Unclassified licences" in html


def test_headline_figures_agree_across_renderings() -> None:
    report = mixed_report()
    for render in RENDERERS.values():
        text = render(report)
        for figure in ("1,200", "83.33 %", "CC-BY-NC-4.0", "1.71 % – 13.70 %", "gpt-4o-mini"):
            assert figure in text


# Escaping


def test_html_escapes_every_user_string() -> None:
    html = render_html(hostile_report())
    page = _page(html)
    scripts = [attrs for tag, attrs in page.tags if tag == "script"]
    assert scripts == [{"type": "application/json", "id": "synthguard-report"}]
    assert "<!--" not in html
    assert "javascript:" not in " ".join(str(a) for _, attrs in page.tags for a in attrs.values())
    # Shown as text: the whole hostile string, markup and all, in tables, charts and facts.
    text = "".join(page.text)
    assert text.count(HOSTILE) >= 10
    assert page.headings == HEADINGS


def test_markdown_escapes_every_user_string() -> None:
    markdown = render_markdown(hostile_report())
    body, _, comment = markdown.rpartition("<!-- synthguard-report")
    assert "<" not in body
    # The only `>` are the warnings' block quotes.
    assert all(line.startswith("> **Warning:**") for line in body.splitlines() if ">" in line)
    assert comment.endswith("-->\n")
    html = _markdown_html(markdown)
    assert "<script" not in html
    assert "javascript:" not in re.sub(r"<[^>]*>", "", html).replace("(javascript:1)", "")
    assert "<a " not in html
    # The hostile key did not break its table row: 3 cells in every row of the origin table.
    origin = re.search(r"<strong>Samples by origin</strong>.*?</table>", html, re.S)
    assert origin is not None
    for row in re.findall(r"<tr>(.*?)</tr>", origin.group(0), re.S):
        assert len(re.findall(r"<t[hd]", row)) == 3


def test_dataset_card_escapes_every_user_string() -> None:
    card = render_dataset_card(hostile_report())
    front = _front_matter(card)
    assert front["pretty_name"] == HOSTILE
    assert card.count("<!--") == 1
    assert "<script" not in _markdown_html(card.split("\n---\n", 1)[1])


@settings(max_examples=60, deadline=None)
@given(name=st.text(max_size=40), uri=st.text(max_size=40))
def test_any_model_name_or_uri_stays_text(name: str, uri: str) -> None:
    base = mixed_report()
    generator = GeneratorCount(provider=None, model=name, version=None, samples=1000, share=100.0)
    report = base.model_copy(
        update={
            "general": base.general.model_copy(
                update={"release": uri, "stated": Stated(dataset="d" + uri)}
            ),
            "sources": base.sources.model_copy(
                update={
                    "synthetic": base.sources.synthetic.model_copy(
                        update={"generators": [generator]}
                    )
                }
            ),
        }
    )
    html = render_html(report)
    page = _page(html)
    assert [tag for tag, _ in page.tags].count("script") == 1
    assert page.headings == HEADINGS
    markdown = render_markdown(report)
    assert "<" not in markdown.rpartition("<!-- synthguard-report")[0]
    card = render_dataset_card(report)
    assert _front_matter(card)["pretty_name"] == "d" + uri
    for text in (html, markdown, card):
        assert embedded_report(text) == report


# The embedded report


@pytest.mark.parametrize("renderer", RENDERERS)
@pytest.mark.parametrize("name", REPORTS)
def test_embedded_report_round_trips(renderer: str, name: str) -> None:
    report = REPORTS[name]()
    recovered = embedded_report(RENDERERS[renderer](report))
    assert recovered == report
    assert recovered.to_json() == report.to_json()


def test_html_embeds_the_exact_json() -> None:
    report = hostile_report()
    html = render_html(report)
    block = html.split('id="synthguard-report">', 1)[1].split("</script>", 1)[0]
    assert "<" not in block
    assert ">" not in block
    assert "&" not in block
    assert json.dumps(json.loads(block), indent=2, sort_keys=True) + "\n" == report.to_json()


def test_markdown_embeds_base64_of_the_exact_json() -> None:
    report = mixed_report()
    comment = render_markdown(report).rpartition("<!-- synthguard-report\n")[2]
    encoded = comment.removesuffix("-->\n")
    assert all(len(line) <= 76 for line in encoded.splitlines())
    assert base64.b64decode("".join(encoded.split())).decode() == report.to_json()


def _one_line_input_error(text: str, match: str) -> None:
    with pytest.raises(InputError, match=match) as caught:
        embedded_report(text)
    assert "\n" not in str(caught.value)


def test_embedded_report_absent_or_malformed() -> None:
    html = render_html(mixed_report())
    markdown = render_markdown(mixed_report())
    _one_line_input_error("# Just a README\n", "no embedded synthguard report")
    _one_line_input_error(html.replace('"samples": 1200', '"samples": 1200,,'), "not JSON")
    _one_line_input_error(html.replace('"samples": 1200', '"samples": -1'), "general.samples")
    _one_line_input_error(html.replace('"tool_version"', '"tool_versio"'), "not a valid report")
    _one_line_input_error(html + html, "more than one")
    broken = markdown.replace("<!-- synthguard-report\n", "<!-- synthguard-report\n!!")
    _one_line_input_error(broken, "not base64")
    truncated = re.sub(r"(<!-- synthguard-report\n)[A-Za-z0-9+/]{8}", r"\1", markdown)
    _one_line_input_error(truncated, "embedded synthguard report")
    # Openings without a closing: each was once read to the end of the text (32,000 of them,
    # 700 KB, took over 30 s); an opening before the real report is part of what it holds.
    _one_line_input_error("<!-- synthguard-report" * 32_000, "no embedded synthguard report")
    _one_line_input_error('<script type="application/json" id="synthguard-report">' * 12_000, "no")
    _one_line_input_error("<!-- synthguard-report\n" + markdown, "not base64")


# Charts


def _svg(text: str) -> ET.Element:
    root = ET.fromstring(text)
    assert root.tag == SVG + "svg"
    assert root.get("role") == "img"
    labelled = (root.get("aria-labelledby") or "").split()
    ids = {element.get("id") for element in root.iter()}
    assert labelled
    assert all(i in ids for i in labelled)
    assert root.find(SVG + "title") is not None
    assert root.find(SVG + "desc") is not None
    return root


def _bars(root: ET.Element) -> list[ET.Element]:
    return [e for e in root.iter(SVG + "rect") if e.get("class") == "bar"]


def _labels(root: ET.Element) -> list[str]:
    return [e.text or "" for e in root.iter(SVG + "text")]


def test_generator_chart_bars_are_proportional_and_labelled() -> None:
    generators = mixed_report().sources.synthetic.generators
    root = _svg(charts.generator_mix_chart(generators))
    widths = [float(bar.get("width") or 0) for bar in _bars(root)]
    assert len(widths) == 3
    assert widths[0] / widths[1] == pytest.approx(700 / 250, rel=1e-3)
    assert widths[0] / widths[2] == pytest.approx(700 / 50, rel=1e-3)
    labels = _labels(root)
    assert "openai/gpt-4o-mini@2024-07-18" in labels
    assert "70.00 % (700 samples)" in labels
    desc = root.find(SVG + "desc")
    assert desc is not None
    assert "meta/llama-3.1-8b: 25.00 % (250 samples)" in (desc.text or "")


def test_funnel_chart_splits_each_guard_into_kept_and_quarantined() -> None:
    funnel = mixed_report().processing.screening.funnel
    root = _svg(charts.funnel_chart(funnel))
    bars = _bars(root)
    # Every guard has a kept bar; the five that quarantined something also a quarantined one.
    assert len(bars) == len(funnel) + 5
    titles = [bar.findtext(SVG + "title") for bar in bars]
    assert "dedup/exact: 30 quarantined" in titles
    assert "1,256 in, 1,226 kept, 30 quarantined" in _labels(root)
    first = [float(b.get("width") or 0) for b in bars[:2]]
    assert sum(first) == pytest.approx(640 - 190)  # the widest guard spans the plot


def test_depth_histogram_and_origin_chart() -> None:
    report = mixed_report()
    depth = _svg(charts.depth_histogram(report.processing.depth))
    heights = [float(bar.get("height") or 0) for bar in _bars(depth)]
    assert heights[1] == max(heights)
    assert heights[0] / heights[1] == pytest.approx(200 / 800)
    assert _labels(depth)[1:] == ["200", "0", "800", "1", "150", "2", "50", "3"]
    origin = _svg(charts.synthetic_share_chart(report.sources.by_origin))
    widths = [float(bar.get("width") or 0) for bar in _bars(origin)]
    assert sum(widths) == pytest.approx(640, abs=0.05)
    assert "synthetic: 79.17 % (950 samples)" in _labels(origin)


def test_a_tiny_share_still_shows() -> None:
    funnel = mixed_report().processing.screening.funnel[0]
    one_in_a_million = funnel.model_copy(update={"checked": 10**6, "kept": 10**6 - 1})
    bars = _bars(_svg(charts.funnel_chart([one_in_a_million])))
    assert float(bars[1].get("width") or 0) == charts.MIN_BAR


@pytest.mark.parametrize(
    ("chart", "message"),
    [
        (lambda: charts.funnel_chart([]), "No screening recorded."),
        (lambda: charts.generator_mix_chart([]), "No synthetic samples."),
        (lambda: charts.synthetic_share_chart([]), "No samples."),
        (lambda: charts.depth_histogram([]), "No samples."),
    ],
)
def test_charts_of_nothing_say_so(chart: Callable[[], str], message: str) -> None:
    root = _svg(chart())
    assert _bars(root) == []
    assert _labels(root) == [message]


# HTML is self-contained


def test_html_fetches_nothing() -> None:
    html = render_html(mixed_report())
    page = _page(html)
    assert {tag for tag, _ in page.tags} <= {
        "html", "head", "meta", "title", "style", "body", "header", "h1", "h2", "h3", "h4", "p",
        "dl", "dt", "dd", "div", "nav", "ol", "li", "a", "main", "section", "strong", "figure",
        "svg", "desc", "rect", "text", "line", "table", "caption", "thead", "tbody",
        "tr", "th", "td", "footer", "script",
    }  # fmt: skip
    for tag, attrs in page.tags:
        assert "src" not in attrs
        if tag == "a":
            assert (attrs["href"] or "").startswith("#")
    assert "url(" not in page.style
    assert "@import" not in page.style
    csp = next(a["content"] for t, a in page.tags if t == "meta" and "http-equiv" in a)
    assert csp is not None
    assert csp.startswith("default-src 'none';")
    digest = base64.b64encode(hashlib.sha256(page.style.encode()).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in csp


def test_unknown_licences_erased_text_and_disagreements_are_flagged() -> None:
    page = _page(render_html(mixed_report()))
    warnings = [a for t, a in page.tags if t == "p" and a.get("class") == "warning"]
    assert len(warnings) == 4
    text = "".join(page.text)
    assert "Unclassified licences (check their terms by hand): see forum rules." in text
    assert "30 samples carry no licence or terms of use." in text
    assert "5 samples without stored content (erased) have no text" in text
    assert "Reviewers disagree on 1 sample: each is counted as an error" in text
    assert "Warning:" not in render_html(human_report())


# Empty ledger


def test_empty_report_renders_without_figures_to_divide() -> None:
    report = empty_report()
    html = render_html(report)
    assert "No screening recorded." in html
    assert "No samples." in html
    assert "nan" not in html.lower().replace("nav", "")
    assert "inf " not in html
    markdown = render_markdown(report)
    assert "- **Samples:** 0" in markdown
    assert "**Used: No**" in markdown
    front = _front_matter(render_dataset_card(report))
    assert front["size_categories"] == ["n<1K"]
    assert front["license"] == ["unknown"]
    assert front["language_creators"] == []
    assert front["annotations_creators"] == []
    assert front["source_datasets"] == ["original"]


# Dataset card


def test_card_front_matter_for_synthetic_data() -> None:
    card = render_dataset_card(mixed_report())
    front = _front_matter(card)
    assert front["pretty_name"] == "instruct-v1"
    assert front["language_creators"] == ["machine-generated", "expert-generated", "found"]
    assert front["annotations_creators"] == ["machine-generated", "expert-generated", "found"]
    assert front["license"] == ["other", "llama3.1", "cc-by-nc-4.0", "apache-2.0", "unknown"]
    assert front["license_name"] == "openai-terms-of-use"
    assert "license_link" not in front
    assert front["source_datasets"] == [
        "original",
        "extended|tatsu-lab/alpaca",
        "extended|databricks/databricks-dolly-15k",
    ]
    assert front["size_categories"] == ["1K<n<10K"]
    assert front["tags"] == ["synthetic", "synthguard"]
    body = card.split("\n---\n", 1)[1]
    assert "This dataset holds 1,200 samples: 950 synthetic samples (79.17 %)" in body
    assert "95 % Wilson interval 1.71 % – 13.70 %" in body


def test_card_front_matter_for_human_data() -> None:
    front = _front_matter(render_dataset_card(human_report()))
    assert front["language_creators"] == ["found"]
    assert front["annotations_creators"] == ["found"]
    assert front["license"] == ["cc-by-sa-4.0"]
    assert front["source_datasets"] == ["squad"]
    assert front["size_categories"] == ["n<1K"]
    assert front["tags"] == ["synthguard"]
    assert not any("machine-generated" in str(value) for value in front.values())


def test_card_names_a_single_other_licence_and_links_a_url() -> None:
    base = human_report()
    licence = base.processing.licences.licences[0].model_copy(
        update={"licence": "https://example.com/data-terms", "kind": "proprietary"}
    )
    report = base.model_copy(
        update={
            "processing": base.processing.model_copy(
                update={
                    "licences": base.processing.licences.model_copy(update={"licences": [licence]})
                }
            )
        }
    )
    front = _front_matter(render_dataset_card(report))
    assert front["license"] == ["other"]
    assert front["license_name"] == "https-example.com-data-terms"
    assert front["license_link"] == "https://example.com/data-terms"


@pytest.mark.parametrize(
    ("samples", "bucket"),
    [
        (0, "n<1K"),
        (999, "n<1K"),
        (1000, "1K<n<10K"),
        (99_999, "10K<n<100K"),
        (100_000, "100K<n<1M"),
        (10**9, "1B<n<10B"),
        (10**12, "n>1T"),
    ],
)
def test_size_categories(samples: int, bucket: str) -> None:
    assert size_category(samples) == bucket


@pytest.mark.parametrize(
    ("licence", "hub"),
    [
        ("Apache-2.0", "apache-2.0"),
        ("CC-BY-NC-SA-4.0", "cc-by-nc-sa-4.0"),
        ("GPL-3.0-or-later", "gpl-3.0"),
        ("LGPL-2.1-only", "lgpl-2.1"),
        ("GFDL-1.3-no-invariants-only", "gfdl"),
        ("ODbL-1.0", "odbl"),
        ("llama3.1", "llama3.1"),
        ("CC-BY-SA-2.0", None),
        ("OpenAI Terms of Use", None),
        ("https://creativecommons.org/licenses/by/4.0/", None),
    ],
)
def test_hub_licence_ids(licence: str, hub: str | None) -> None:
    assert hub_licence(licence) == hub


@pytest.mark.parametrize(
    ("uri", "dataset"),
    [
        ("hf://datasets/tatsu-lab/alpaca", "tatsu-lab/alpaca"),
        ("hf://datasets/squad@main/train", "squad"),
        ("https://huggingface.co/datasets/openai/gsm8k/tree/main", "openai/gsm8k"),
        ("s3://bucket/seeds.jsonl", "s3://bucket/seeds.jsonl"),
    ],
)
def test_source_dataset_ids(uri: str, dataset: str) -> None:
    assert source_dataset_id(uri) == dataset


# The template, section by section


def _all_sections(sections: tuple[Section, ...]) -> list[Section]:
    found: list[Section] = []
    for section in sections:
        found += [section, *_all_sections(section.subsections)]
    return found


@pytest.mark.parametrize("name", REPORTS)
def test_no_fact_or_cell_is_left_blank(name: str) -> None:
    for section in _all_sections(document(REPORTS[name]())):
        assert all(fact.value.strip() for fact in section.facts), section.heading
        for table in section.tables:
            assert all(cell.strip() for row in table.rows for cell in row), table.caption


@pytest.mark.parametrize("renderer", RENDERERS)
def test_provider_and_model_are_stated_or_said_not_to_be(renderer: str) -> None:
    stated = RENDERERS[renderer](mixed_report())
    for value in ("Example Labs", "ai-office@example.org", "example-7b", "2026.02"):
        assert value in stated
    silent = RENDERERS[renderer](human_report())
    assert silent.count("not stated") >= 5  # name, contact, model, version, dependencies


@pytest.mark.parametrize("renderer", RENDERERS)
def test_size_languages_and_acquisition_are_shown_with_their_method(renderer: str) -> None:
    text = RENDERERS[renderer](mixed_report())
    assert "Less than 1 billion tokens (an estimated 183,456 tokens over 1,195 samples)" in text
    assert "py3langid 0.4.0" in text
    assert "02/2026" in text
    assert "5 samples without stored content (erased) have no text" in text
    assert re.search(r"\|\s*unknown\s*\|\s*5\s*\|\s*0\.41 %", text) or (
        "<td>unknown</td>" in text and "0.41 %" in text
    )


def test_section_3_1_shows_what_the_ledger_records_of_each_source() -> None:
    html = _markdown_html(render_markdown(mixed_report()))
    table = re.search(r"<strong>Sources and what the ledger records.*?</table>", html, re.S)
    assert table is not None
    rows = [
        re.findall(r"<td[^>]*>([^<]*)</td>", row)
        for row in re.findall(r"<tr>(.*?)</tr>", table.group(0), re.S)[1:]
    ]
    assert rows[2] == [
        "https://example.org/forum",
        "crawled",
        "see forum rules",
        "unknown",
        "robots.txt allows all agents; no TDMRep header (2026-01-01)",
        "20",
    ]
    assert rows[3] == [
        "s3://acme/licensed-corpus",
        "licensed",
        "not recorded",
        "N/A",
        "not recorded",
        "10",
    ]


def test_licence_shares_say_they_are_of_the_samples_and_can_pass_100() -> None:
    text = render_markdown(mixed_report())
    assert "share of the 1,200 samples in scope; a sample bound by several counts in each" in text
    assert "so the shares can sum past 100 %" in text
    assert "30 (2.50 %)" in text  # the unlicensed samples, of all samples in scope


@pytest.mark.parametrize("renderer", RENDERERS)
def test_reviewer_disagreements_are_named(renderer: str) -> None:
    text = re.sub(r"<[^>]+>", " ", RENDERERS[renderer](mixed_report()))
    assert "Disagreements between reviewers" in text
    assert "sha256:" + "ab" * 32 in text
    assert "alice" in text
    assert "bob" in text
    assert re.search(r"Judged outside a review draw \(not counted\)\W+2", text)
    assert re.search(r"Quarantine overrides \(not counted\)\W+5", text)


def test_card_takes_the_dataset_name_and_the_detected_languages() -> None:
    front = _front_matter(render_dataset_card(mixed_report()))
    assert front["pretty_name"] == "instruct-v1"
    assert front["language"] == ["en", "de"]  # without und and unknown
    assert "language" not in _front_matter(render_dataset_card(empty_report()))
    named = mixed_report(stated=Stated(dataset="Acme instructions"))
    assert _front_matter(render_dataset_card(named))["pretty_name"] == "Acme instructions"
    page = _page(render_html(named))
    assert "Acme instructions" in "".join(page.text)
    assert ORIGIN not in render_html(named).split("<main>")[0]  # the title names the dataset


def test_card_counts_people_only_for_reviews_from_a_draw() -> None:
    base = human_report()
    assert (
        "expert-generated" not in _front_matter(render_dataset_card(base))["annotations_creators"]
    )
    # Overrides and verdicts outside a draw are not reviews.
    review = base.processing.review.model_copy(update={"overrides": 3, "outside_draws": 2})
    report = base.model_copy(
        update={"processing": base.processing.model_copy(update={"review": review})}
    )
    assert (
        "expert-generated" not in _front_matter(render_dataset_card(report))["annotations_creators"]
    )
