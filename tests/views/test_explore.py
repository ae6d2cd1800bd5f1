"""The latent explorer, tested in a real headless browser (Debian's chromium via Playwright)."""

import base64
import io
import os
import shutil
import threading
import urllib.error
import urllib.request

import numpy as np
import pytest
from PIL import Image

import vaekit
from vaekit.views.explore import make_server

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def server(trained_run):
    run = vaekit.load(trained_run)
    httpd = make_server(run, port=0)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield run, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code


def _pixels(data_url: str) -> np.ndarray:
    png = base64.b64decode(data_url.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(png)))


def _open(playwright, base: str, errors: list[str]):
    """Chromium on the explorer page, its console errors and page errors into ``errors``."""
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM, args=FLAGS, chromium_sandbox=False
    )
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(base + "/")
    return browser, page


def test_bad_requests_get_4xx_and_the_server_keeps_serving(server):
    _, base = server
    bad = [
        "/api/decode?z=nan,0",
        "/api/decode?z=1e9,0",
        "/api/decode?z=1,2,3",
        "/api/decode?z=abc",
        "/api/decode",
        "/api/interpolate?a=0,0&b=1,1&steps=100000",
        "/api/interpolate?a=0,0&b=1,1&steps=x",
        "/../../etc/passwd",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/vaekit/views/explore.py",
        "/api/decode?z=" + "1," * 5000,
    ]
    for path in bad:
        assert 400 <= _status(base + path) < 500, path
    assert _status(base + "/api/decode?z=0.5,-0.5") == 200


@pytest.mark.slow
def test_explorer_decodes_the_point_under_the_pointer(server, tmp_path):
    if not os.path.exists(CHROMIUM) and not os.environ.get("CI"):
        pytest.skip("Debian's chromium is not installed (CI installs it)")
    from playwright.sync_api import sync_playwright

    run, base = server
    errors = []
    with sync_playwright() as p:
        browser, page = _open(p, base, errors)
        page.wait_for_function("document.getElementById('decoded').dataset.z === '0,0'")
        first = page.get_attribute("#decoded", "src")
        box = page.locator("#plane").bounding_box()
        page.mouse.move(box["x"] + box["width"] * 0.8, box["y"] + box["height"] * 0.25)
        page.wait_for_function("document.getElementById('decoded').dataset.z !== '0,0'")
        shown = page.get_attribute("#decoded", "src")
        z = [float(v) for v in page.get_attribute("#decoded", "data-z").split(",")]
        assert shown != first  # the picture changed with the pointer
        assert z[0] > 1 and z[1] > 1  # upper right of the plane
        expected = run.decode(np.asarray([z], dtype=np.float32))[0, 0]
        expected = (np.clip(expected, 0, 1) * 255 + 0.5).astype(np.uint8)
        assert np.array_equal(_pixels(shown), expected)  # exactly decode(z) for that point
        page.mouse.click(box["x"] + 40, box["y"] + 40)
        page.mouse.click(box["x"] + box["width"] - 40, box["y"] + box["height"] - 40)
        page.wait_for_function("document.querySelectorAll('#path img').length === 10")
        page.screenshot(path=str(tmp_path / "explorer.png"), full_page=True)
        if os.environ.get("VAEKIT_SCREENSHOT"):
            shutil.copy(tmp_path / "explorer.png", os.environ["VAEKIT_SCREENSHOT"])
        browser.close()
    assert not errors, errors


@pytest.fixture
def conditional_server(tmp_path, make_config):
    from vaekit.api import train

    run = train(make_config(data={"condition": ["label"]}), tmp_path / "cvae")
    httpd = make_server(vaekit.load(run.path), port=0)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield vaekit.load(run.path), f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.slow
def test_the_condition_selector_decodes_with_the_chosen_label(conditional_server):
    if not os.path.exists(CHROMIUM) and not os.environ.get("CI"):
        pytest.skip("Debian's chromium is not installed (CI installs it)")
    from playwright.sync_api import sync_playwright

    run, base = conditional_server
    assert _status(base + "/api/decode?z=0,0") == 400  # a conditional run needs c
    assert _status(base + "/api/decode?z=0,0&c=label%3D11") == 400  # not a class of the run
    errors = []
    with sync_playwright() as p:
        browser, page = _open(p, base, errors)
        page.wait_for_function("document.getElementById('decoded').dataset.z === '0,0'")
        before = page.get_attribute("#decoded", "src")
        page.select_option("#conditions select", "7")
        page.wait_for_function(f"document.getElementById('decoded').src !== {before!r}")
        shown = page.get_attribute("#decoded", "src")
        browser.close()
    expected = run.decode(np.zeros((1, 2), dtype=np.float32), condition=7)[0, 0]
    expected = (np.clip(expected, 0, 1) * 255 + 0.5).astype(np.uint8)
    assert np.array_equal(_pixels(shown), expected)  # exactly decode(z, label 7)
    assert not errors, errors
