"""``rnnapps serve`` as a user runs it: the real command, a real port on
127.0.0.1, the page in headless Chromium (Debian's ``chromium`` and
``chromium-driver``, which ``.ci/run`` installs), and a bounded load.

The screenshots in docs/serve.md come from these tests, on models trained
longer (40 epochs, at a learning rate of 0.01)::

    .venv/bin/python -m pytest tests/test_serve_page.py -n 0 --screenshots docs/images
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("starlette")

pytestmark = [pytest.mark.xdist_group("serve"), pytest.mark.slow]
NAMES = {"sentiment": "reviews", "classify": "tickets", "textgen": "poems",
         "regression": "signal"}
CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def server(served_exports):
    """``rnnapps serve`` on a free port; yields its URL and process."""
    models = [f"--model={NAMES[task]}={path}" for task, path in served_exports.items()]
    process = subprocess.Popen([sys.executable, "-m", "rnnapps", "serve", "--port", "0",
                                *models], stdout=subprocess.PIPE, text=True)
    try:
        for line in process.stdout:
            found = re.search(r"serving on (http://[\d.]+:\d+)/", line)
            if found:
                break
        else:
            pytest.fail(f"rnnapps serve stopped with exit code {process.wait()}")
        yield found.group(1), process
    finally:
        process.terminate()  # uvicorn shuts down, then re-raises SIGTERM
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def browser():
    if not (os.path.exists(CHROMIUM) and os.path.exists(DRIVER)):
        if os.environ.get("CI"):
            pytest.fail("CI installs Debian's chromium and chromium-driver; they are missing")
        pytest.skip("needs Debian's chromium and chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking", "--disable-sync",
                 "--disable-component-update", "--window-size=900,1000"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    yield driver
    driver.quit()


def submit(browser, url: str, name: str, fill) -> object:
    """Opens ``name``'s page, fills its form with ``fill(section)``, submits it and
    waits for the answer; returns the section."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"{url}/#{name}")
    section = WebDriverWait(browser, 20).until(
        lambda b: b.find_element(By.ID, f"model-{name}"))
    assert section.is_displayed()
    fill(section)
    section.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(browser, 30).until(
        lambda b: section.get_attribute("data-state") in ("done", "error"))
    return section


def screenshot(browser, request, name: str, tmp_path: Path) -> None:
    folder = request.config.getoption("--screenshots")
    path = Path(folder or tmp_path) / f"serve-{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(path)) and path.stat().st_size > 10_000


def typed(field: str, text: str):
    from selenium.webdriver.common.by import By

    def fill(section):
        box = section.find_element(By.NAME, field)
        box.clear()
        box.send_keys(text)
    return fill


@pytest.mark.parametrize("name, text", [("tickets", "my printer is on fire"),
                                        ("reviews", "A moving, beautifully shot film.")])
def test_a_text_page_shows_the_label_and_every_class(server, browser, name, text, request,
                                                     tmp_path):
    from selenium.webdriver.common.by import By

    section = submit(browser, server[0], name, typed("text", text))
    assert section.get_attribute("data-state") == "done"
    rows = section.find_elements(By.CSS_SELECTOR, ".classes tbody tr")
    classes = [r.find_element(By.TAG_NAME, "td").text for r in rows]
    expected = {"tickets": {"billing", "hardware", "network"},
                "reviews": {"negative", "positive"}}[name]
    assert set(classes) == expected
    assert section.find_element(By.CLASS_NAME, "label").text == classes[0]
    shown = [float(r.find_elements(By.TAG_NAME, "td")[1].text.rstrip(" %")) for r in rows]
    assert shown == sorted(shown, reverse=True) and abs(sum(shown) - 100) < 0.5
    screenshot(browser, request, name, tmp_path)


def test_the_generation_page_shows_each_sample(server, browser, request, tmp_path):
    from selenium.webdriver.common.by import By

    def fill(section):
        typed("seed", "Shall I")(section)
        typed("length", "60")(section)
        typed("samples", "3")(section)
        typed("seed_number", "5")(section)
    section = submit(browser, server[0], "poems", fill)
    samples = [s.text for s in section.find_elements(By.CLASS_NAME, "sample")]
    assert len(samples) == 3 and all(s.startswith("Shall I") for s in samples)
    assert all(len(s) >= len("Shall I") + 55 for s in samples)  # 60 characters (some spaces)
    screenshot(browser, request, "poems", tmp_path)


def test_the_forecast_page_charts_uploaded_rows_with_the_interval(server, browser, request,
                                                                  tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    rows = tmp_path / "recent.csv"
    rows.write_text("value\n" + "\n".join(f"{(i % 6) / 3:.3f}" for i in range(30)) + "\n")

    def upload(section):
        section.find_element(By.NAME, "file").send_keys(str(rows))
        box = section.find_element(By.NAME, "rows")  # the page reads the file into it
        WebDriverWait(browser, 10).until(lambda b: box.get_attribute("value").startswith("value"))
    section = submit(browser, server[0], "signal", upload)
    assert section.get_attribute("data-state") == "done"
    chart = section.find_element(By.CLASS_NAME, "chart")
    history = chart.find_element(By.CLASS_NAME, "history").get_attribute("points").split()
    assert len(history) == 12  # the window the model reads
    assert chart.find_element(By.CLASS_NAME, "band").get_attribute("points")
    steps = section.find_elements(By.CSS_SELECTOR, ".steps tbody tr")
    assert len(steps) == 1 and "–" in steps[0].find_elements(By.TAG_NAME, "td")[2].text
    screenshot(browser, request, "signal", tmp_path)


def test_a_page_shows_the_servers_error(server, browser):
    from selenium.webdriver.common.by import By

    section = submit(browser, server[0], "signal", typed("rows", "1\n2\n3"))
    assert section.get_attribute("data-state") == "error"
    assert "the model reads 12 rows, the given data has 3" in section.find_element(
        By.CLASS_NAME, "error").text


def test_under_load_nothing_fails_and_memory_stays_flat(server):
    import httpx
    import psutil

    from rnnapps.serve.load import example_requests, run_load

    url, process = server
    requests = example_requests(httpx.get(f"{url}/ui/models").json()["models"])
    assert len(requests) == 4  # one per task
    memory = psutil.Process(process.pid)
    run_load(url, requests, clients=8, seconds=3)  # warm up: every signature traced
    result = run_load(url, requests, clients=8, seconds=10,
                      sample=lambda: memory.memory_info().rss / 2 ** 20)
    print(result)
    assert result["failed"] == 0, result["errors"]
    assert result["requests"] > 40 and result["p99_ms"] < 5000
    grown = max(result["samples"]) - result["samples"][0]
    assert grown < 150, f"the server's memory grew by {grown:.0f} MB under load"
