"""The printable reports in a real browser: headless Chromium loads the coverage review and the territory plan
(`format=html`) from `territory serve --demo`, with the API key as a header, and finds the charts drawn,
the names shown as text (never run), and the pages printable; GraphiQL's key hint and Swagger UI's kept
key in the same browser.
Chromium missing fails these tests (.ci/run installs it); they never skip."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser import Chromium
from tests.servers import demo_server

EVIL = "<script>window.pwned = 1</script><img src=x onerror='window.pwned = 2'> Aisha"

BARS = """JSON.stringify([...document.querySelectorAll('svg.chart[data-chart="%s"] rect.%s')]
  .map(r => { const b = r.getBoundingClientRect(); return [b.width, b.height]; }))"""


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    """The demo, with one rep renamed to markup that would run if the pages did not escape it."""
    with demo_server(tmp_path_factory.mktemp("printable")) as (base, headers):
        reps = httpx.get(f"{base}/v1/reps", headers=headers).json()["items"]
        rep = next(r for r in reps if r["role"] == "AE")
        r = httpx.patch(f"{base}/v1/reps/{rep['id']}", json={"name": EVIL}, headers=headers)
        assert r.status_code == 200, r.text
        yield base, headers


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chromium]:
    chromium = Chromium(tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield chromium
    finally:
        chromium.close()


def bars(page: Any, chart: str, kind: str = "bar") -> list[list[float]]:
    return json.loads(page.evaluate(BARS % (chart, kind)))


def assert_printable(page: Any, tmp_path: Path, name: str) -> None:
    """The page prints to a PDF and renders to a PNG (kept beside the test's files, to look at)."""
    assert page.pdf().startswith(b"%PDF-")
    shot = page.screenshot()
    assert shot.startswith(b"\x89PNG")
    (tmp_path / f"{name}.png").write_bytes(shot)


def report_and_page(served: Any, browser: Chromium, report: str, query: str = "") -> tuple[Any, Any]:
    """The report as JSON, and its printable page loaded in the browser with the key in the header."""
    base, headers = served
    answer = httpx.get(f"{base}/v1/reports/{report}", headers=headers).json()
    page = browser.open(f"{base}/v1/reports/{report}?format=html{query}", headers)
    assert page.status == 200
    return answer, page


def test_coverage_review_page_draws_each_tier_against_its_target(served, browser, tmp_path):
    review, page = report_and_page(served, browser, "coverage-review", "&limit=5")
    drawn = bars(page, "coverage")
    assert len(drawn) == 3 and all(h > 0 for _, h in drawn)
    # each bar is its tier's covered share of the chart's 440 px, the target mark where the target is
    for (width, _), tier in zip(drawn, review["coverage_by_tier"], strict=True):
        assert width == pytest.approx(440 * tier["rate"], abs=1.5) and width > 0
    marks = page.evaluate(
        """(() => { const chart = document.querySelector('svg.chart').getBoundingClientRect().x;
        return [...document.querySelectorAll('svg.chart[data-chart="coverage"] rect.target')]
          .map(r => r.getBoundingClientRect().x + 1 - chart); })()"""
    )
    targets = [t["target"] for t in review["coverage_by_tier"] if t["target"] is not None]
    assert targets == [0.9, 0.6]  # the defaults; tier 3 has no target, so no mark
    assert marks == [pytest.approx(160 + 440 * t, abs=1.5) for t in targets]
    text = page.evaluate("document.body.innerText")
    assert EVIL in text and "Tier 1 target (coverage.tier1_target)" in text
    assert page.evaluate("typeof window.pwned") == "undefined"  # the name is text, never run
    assert page.evaluate("document.querySelectorAll('script, img').length") == 0
    assert_printable(page, tmp_path, "coverage-review")


def test_territory_plan_page_draws_potential_per_rep_against_the_band(served, browser, tmp_path):
    plan, page = report_and_page(served, browser, "territory-plan")
    drawn = bars(page, "potential")
    reps = plan["equity_metrics"]["per_rep"]
    assert len(drawn) == len(reps) == 10 and all(w > 0 and h > 0 for w, h in drawn)
    (band,) = bars(page, "potential", "band")
    assert band[0] > 0
    widest = max(range(len(reps)), key=lambda i: reps[i]["potential"])
    assert max(w for w, _ in drawn) == drawn[widest][0]  # the bars follow the potentials
    assert EVIL in page.evaluate("document.body.innerText")
    assert page.evaluate("typeof window.pwned") == "undefined"
    assert_printable(page, tmp_path, "territory-plan")


def test_a_page_without_the_key_is_refused_in_the_browser_too(served, browser):
    base, _ = served
    page = browser.open(f"{base}/v1/reports/coverage-review?format=html")
    assert page.status == 401
    assert page.evaluate("document.querySelectorAll('svg').length") == 0


def test_graphiql_shows_the_key_hint_until_its_headers_carry_a_key(served, browser):
    base, headers = served
    page = browser.open(f"{base}/graphql")
    assert page.status == 200
    visible = "getComputedStyle(document.getElementById('key-hint')).display !== 'none'"
    assert page.evaluate(visible) is True
    stored = json.dumps({"Authorization": headers["Authorization"]})
    page.evaluate(f"localStorage.setItem('graphiql:headers', {json.dumps(stored)})")
    page.reload()
    assert page.evaluate(visible) is False
    assert page.wait_for("document.querySelector('.graphiql-container')")  # the IDE itself came up


def test_swagger_keeps_the_key_entered_under_authorize_across_a_reload(served, browser):
    base, headers = served
    page = browser.open(f"{base}/docs")
    assert page.wait_for("document.querySelector('.btn.authorize.unlocked')")
    page.evaluate("document.querySelector('.btn.authorize').click()")
    assert page.wait_for("document.querySelector('.modal-ux input')")
    page.evaluate("document.querySelector('.modal-ux input').focus()")
    page.type(headers["Authorization"].split()[1])
    page.evaluate("document.querySelector('.modal-ux .btn.modal-btn.auth.authorize').click()")
    assert page.wait_for("localStorage.getItem('authorized')")
    page.reload()
    assert page.wait_for("document.querySelector('.btn.authorize.locked')")
    kept = page.evaluate("ui.authSelectors.authorized().toJS()")
    assert kept["HTTPBearer"]["value"] == headers["Authorization"].split()[1]
