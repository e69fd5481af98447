"""The HTML report in a real browser: headless Chromium loads it from a file and is asked, over
the DevTools protocol, what it logged, what it fetched and what it drew.

The protocol runs over `--remote-debugging-pipe` (Chromium reads commands on fd 3 and writes
replies on fd 4, each message a JSON text ended by NUL), so no websocket client is needed.

Without Chromium these tests skip; with CI or SYNTHGUARD_REQUIRE_CHROMIUM=1 set they fail
instead (Debian: `apt-get install chromium`; SYNTHGUARD_CHROMIUM names another binary).
"""

from __future__ import annotations

import fcntl
import json
import os
import select
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from report_fixtures import HOSTILE, empty_report, hostile_report, mixed_report

from synthguard.ledger.report.html import render_html
from synthguard.ledger.report.model import Count, GeneratorCount, TransparencyReport

REQUIRE_CHROMIUM_ENV = "SYNTHGUARD_REQUIRE_CHROMIUM"
CHROMIUM_ENV = "SYNTHGUARD_CHROMIUM"
TIMEOUT = 60.0

# What the page looks like to a reader: per chart, its box, every bar's box, paint and whether
# it is what a click at its centre would hit (so: drawn, visible, on top), every label's box.
DRAWN = """
(() => {
  const charts = [...document.querySelectorAll("svg.chart")].map((svg) => {
    svg.scrollIntoView({block: "center"});
    const box = svg.getBoundingClientRect();
    const bars = [...svg.querySelectorAll("rect.bar")].map((rect) => {
      const b = rect.getBoundingClientRect();
      const hit = document.elementFromPoint(b.left + b.width / 2, b.top + b.height / 2);
      return {width: b.width, height: b.height, fill: getComputedStyle(rect).fill,
              onTop: hit === rect};
    });
    const labels = [...svg.querySelectorAll("text")].map((text) => {
      const b = text.getBBox();
      return {text: text.textContent, left: b.x, right: b.x + b.width, height: b.height};
    });
    return {id: svg.id, width: box.width, height: box.height,
            viewWidth: svg.viewBox.baseVal.width, bars, labels};
  });
  const yes = document.querySelector(".answer .yes");
  return {
    charts,
    scripts: [...document.scripts].map((s) => s.type),
    report: JSON.parse(document.getElementById("synthguard-report").textContent),
    text: document.body.innerText,
    answerColour: yes ? getComputedStyle(yes).backgroundColor : null,
  };
})()
"""


def _required() -> bool:
    return bool(os.environ.get("CI")) or os.environ.get(REQUIRE_CHROMIUM_ENV, "") not in ("", "0")


class DevTools:
    """A headless Chromium driven over its DevTools pipe."""

    def __init__(self, executable: str, profile: Path) -> None:
        to_browser, self._writer = os.pipe()
        self._reader, from_browser = os.pipe()
        # Above 4, so that placing them on 3 and 4 in the child cannot overwrite one another.
        child_in = fcntl.fcntl(to_browser, fcntl.F_DUPFD_CLOEXEC, 10)
        child_out = fcntl.fcntl(from_browser, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(to_browser)
        os.close(from_browser)

        def onto_3_and_4() -> None:
            os.dup2(child_in, 3)
            os.dup2(child_out, 4)

        self.log = profile / "chromium.log"
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    executable,
                    "--headless=new",
                    "--remote-debugging-pipe",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--no-first-run",
                    "--no-default-browser-check",
                    "--disable-extensions",
                    "--window-size=1200,900",
                    f"--user-data-dir={profile / 'profile'}",
                    "about:blank",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                close_fds=False,  # the other fds are non-inheritable already (PEP 446)
                preexec_fn=onto_3_and_4,
                start_new_session=True,
            )
        os.close(child_in)
        os.close(child_out)
        self._buffer = b""
        self._id = 0
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, params: dict[str, Any] | None = None, session: str = "") -> Any:
        """Send one command and return its result."""
        self._id += 1
        message: dict[str, Any] = {"id": self._id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._writer, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + TIMEOUT
        while True:
            reply = self._receive(deadline)
            if reply.get("id") == self._id:
                assert "error" not in reply, f"{method}: {reply['error']}"
                return reply["result"]
            self.events.append(reply)

    def wait_for(self, method: str, session: str) -> None:
        """Read events until `method` arrives for `session`."""
        deadline = time.monotonic() + TIMEOUT
        while not any(
            e.get("method") == method and e.get("sessionId") == session for e in self.events
        ):
            self.events.append(self._receive(deadline))

    def _receive(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"Chromium did not answer in {TIMEOUT:.0f} s ({self.log})")
            ready, _, _ = select.select([self._reader], [], [], remaining)
            if ready:
                chunk = os.read(self._reader, 1 << 16)
                if not chunk:
                    raise EOFError(f"Chromium closed its pipe: {self.log.read_text()[-2000:]}")
                self._buffer += chunk
        raw, _, self._buffer = self._buffer.partition(b"\0")
        message: dict[str, Any] = json.loads(raw)
        return message

    def close(self) -> None:
        """Ask the browser to quit; kill its process group if it does not."""
        try:
            self.send("Browser.close")
            self.process.wait(timeout=15)
        except (OSError, EOFError, TimeoutError, subprocess.TimeoutExpired):
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        finally:
            os.close(self._writer)
            os.close(self._reader)


class Page:
    """One loaded page: what the browser logged and fetched while loading it."""

    def __init__(self, browser: DevTools, path: Path) -> None:
        self.browser = browser
        self.url = path.as_uri()
        target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        attached = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})
        self.session: str = attached["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            browser.send(f"{domain}.enable", session=self.session)
        browser.send("Page.navigate", {"url": self.url}, self.session)
        browser.wait_for("Page.loadEventFired", self.session)

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page."""
        reply = self.browser.send(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True}, self.session
        )
        assert "exceptionDetails" not in reply, reply["exceptionDetails"]
        return reply["result"]["value"]

    def _events(self, *methods: str) -> list[dict[str, Any]]:
        return [
            e["params"]
            for e in self.browser.events
            if e.get("sessionId") == self.session and e.get("method") in methods
        ]

    def problems(self) -> list[str]:
        """Console errors and warnings, uncaught exceptions, dialogs, error log entries."""
        found = [
            f"console.{e['type']}: {[a.get('value') for a in e['args']]}"
            for e in self._events("Runtime.consoleAPICalled")
            if e["type"] in ("error", "warning", "assert")
        ]
        for e in self._events("Runtime.exceptionThrown"):
            details = e["exceptionDetails"]
            found.append(f"exception: {details.get('exception', {}).get('description', details)}")
        found += [f"dialog: {e['message']}" for e in self._events("Page.javascriptDialogOpening")]
        found += [
            f"log {e['entry']['level']} ({e['entry']['source']}): {e['entry']['text']}"
            for e in self._events("Log.entryAdded")
            if e["entry"]["level"] in ("error", "warning")
        ]
        return found

    def requests(self) -> list[str]:
        """Every URL the page asked for."""
        return [e["request"]["url"] for e in self._events("Network.requestWillBeSent")]


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevTools]:
    """One headless Chromium for the module's pages."""
    executable = os.environ.get(CHROMIUM_ENV) or shutil.which("chromium")
    executable = executable or shutil.which("chromium-browser")
    if executable is None:
        message = "Chromium is not installed (Debian: apt-get install chromium)"
        if _required():
            pytest.fail(f"{message}; CI or {REQUIRE_CHROMIUM_ENV}=1 requires it", pytrace=False)
        pytest.skip(message)
    devtools = DevTools(executable, tmp_path_factory.mktemp("chromium"))
    try:
        yield devtools
    finally:
        devtools.close()


def _load(browser: DevTools, tmp_path: Path, report: TransparencyReport) -> Page:
    path = tmp_path / "report.html"
    path.write_text(render_html(report), encoding="utf-8")
    return Page(browser, path)


def _assert_drawn(drawn: dict[str, Any], expected_bars: dict[str, int]) -> None:
    charts = {chart["id"]: chart for chart in drawn["charts"]}
    assert {chart_id: len(chart["bars"]) for chart_id, chart in charts.items()} == expected_bars
    for chart_id, chart in charts.items():
        assert chart["width"] > 300
        assert chart["height"] > 30
        for bar in chart["bars"]:
            assert bar["width"] >= 1
            assert bar["height"] >= 1
            assert bar["onTop"], f"{chart_id}: a bar is hidden"
            assert bar["fill"] not in ("none", "rgba(0, 0, 0, 0)")
        for label in chart["labels"]:
            assert label["height"] > 0, f"{chart_id}: {label['text']!r} has no glyphs"
            assert label["left"] >= -0.5, f"{chart_id}: {label['text']!r} is cut off"
            assert label["right"] <= chart["viewWidth"] + 0.5, f"{chart_id}: {label['text']!r}"


ALL_BARS = {"chart-origin": 3, "chart-generators": 3, "chart-funnel": 11, "chart-depth": 4}


def test_report_loads_clean_fetches_nothing_and_draws_its_charts(
    browser: DevTools, tmp_path: Path
) -> None:
    report = mixed_report()
    page = _load(browser, tmp_path, report)
    drawn = page.evaluate(DRAWN)
    assert page.problems() == []
    assert page.requests() == [page.url]
    assert drawn["scripts"] == ["application/json"]
    assert drawn["report"] == report.model_dump(mode="json")
    # The inline style sheet passed the page's Content Security Policy.
    assert drawn["answerColour"] == "rgb(198, 246, 213)"
    _assert_drawn(drawn, ALL_BARS)
    funnel = next(chart for chart in drawn["charts"] if chart["id"] == "chart-funnel")
    assert "1,256 in, 1,226 kept, 30 quarantined" in [label["text"] for label in funnel["labels"]]


def test_hostile_strings_are_shown_not_run(browser: DevTools, tmp_path: Path) -> None:
    report = hostile_report()
    page = _load(browser, tmp_path, report)
    drawn = page.evaluate(DRAWN)
    assert page.problems() == []
    assert page.requests() == [page.url]
    assert drawn["scripts"] == ["application/json"]
    assert drawn["report"] == report.model_dump(mode="json")
    visible = HOSTILE.replace("\n", " ").strip()
    assert drawn["text"].count(visible) >= 5
    _assert_drawn(drawn, {**ALL_BARS, "chart-origin": 1, "chart-generators": 1})


def test_long_and_wide_labels_fit_their_charts(browser: DevTools, tmp_path: Path) -> None:
    base = mixed_report()
    names = ["W" * 60, "模型" * 30, "😀" * 25, "a" * 200]
    # The last count is as long as a figure gets (100.00 % of over a billion samples).
    generators = [
        GeneratorCount(provider=None, model=name, version=None, samples=samples, share=share)
        for name, samples, share in zip(
            names, [250, 250, 250, 1_234_567_890], [25.0, 25.0, 25.0, 100.0], strict=True
        )
    ]
    funnel = [
        step.model_copy(update={"name": name})
        for step, name in zip(base.processing.screening.funnel, names * 2, strict=False)
    ]
    report = base.model_copy(
        update={
            "sources": base.sources.model_copy(
                update={
                    "synthetic": base.sources.synthetic.model_copy(
                        update={"generators": generators}
                    ),
                    "by_origin": [Count(key="W" * 120, samples=1200, share=100.0)],
                }
            ),
            "processing": base.processing.model_copy(
                update={
                    "screening": base.processing.screening.model_copy(update={"funnel": funnel})
                }
            ),
        }
    )
    page = _load(browser, tmp_path, report)
    drawn = page.evaluate(DRAWN)
    assert page.problems() == []
    _assert_drawn(drawn, {**ALL_BARS, "chart-origin": 1, "chart-generators": 4})


TEMPLATE = (
    "1.1 Provider identification",
    "1.2 Model identification",
    "1.3 Modality, overall training data size and other characteristics",
    "2.2.1 Datasets commercially licensed by rightsholders or their representatives",
    "2.2.2 Private datasets obtained from other third parties",
    "2.5 Synthetic data",
    "3.1 Respect of reservation of rights from the text and data mining exception or limitation",
    "3.2 Removal of illegal content",
    "3.3 Other information",
)


def test_the_page_reads_as_the_template_in_its_order(browser: DevTools, tmp_path: Path) -> None:
    page = _load(browser, tmp_path, mixed_report())
    text = page.evaluate(DRAWN)["text"]
    main = text[text.index("1 General information\n") :]
    positions = [main.index(heading + "\n") for heading in TEMPLATE]
    assert positions == sorted(positions)
    for shown in ("Example Labs", "Less than 1 billion tokens", "not recorded", "bob"):
        assert shown in main
    empty = _load(browser, tmp_path, empty_report())
    # "N/A" is said, and styled (the style sheet passed the page's policy).
    answer = empty.evaluate(
        "(() => { const na = document.querySelector('.answer .na');"
        " return [na.textContent, getComputedStyle(na).borderTopStyle]; })()"
    )
    assert answer == ["N/A", "solid"]


def test_empty_report_loads_clean(browser: DevTools, tmp_path: Path) -> None:
    page = _load(browser, tmp_path, empty_report())
    drawn = page.evaluate(DRAWN)
    assert page.problems() == []
    assert [chart["id"] for chart in drawn["charts"]] == ["chart-origin"]
    assert [label["text"] for label in drawn["charts"][0]["labels"]] == ["No samples."]
    assert drawn["charts"][0]["bars"] == []


def test_the_harness_sees_errors_and_requests(browser: DevTools, tmp_path: Path) -> None:
    # A control: the checks above would pass vacuously if the harness saw nothing.
    path = tmp_path / "broken.html"
    path.write_text(
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>broken</title>'
        '</head><body><img src="http://127.0.0.1:9/missing.png" alt="">'
        '<script>console.error("logged"); undefinedFunction();</script></body></html>',
        encoding="utf-8",
    )
    page = Page(browser, path)
    problems = page.problems()
    assert any("console.error: ['logged']" in p for p in problems)
    assert any("undefinedFunction" in p for p in problems)
    assert "http://127.0.0.1:9/missing.png" in page.requests()
