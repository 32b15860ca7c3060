"""JupyterLab in a real browser: a student opens a release notebook and runs it to the first exercise.

The test starts ``jupyter lab`` from this environment on a free loopback port, in a temporary copy of
``assignments/``, with the students' Jupyter settings of ``student_setup/jupyter`` and nothing from
the user's own Jupyter folders. Playwright drives Debian's Chromium (the system ``chromium``, never a
browser that Playwright downloads) through ``a1/01_features.ipynb``: it runs the cells from the top to
the visible tests of the first exercise and checks what a student sees:

* the kernel starts by itself, with no "Select Kernel" dialog;
* the class-examples figure is rendered as an image;
* the first stub's ``NotImplementedError`` and its message are shown;
* none of nbgrader's instructor tools (its menu, "Validate", "Create Assignment") and no pop-up
  asking about Jupyter news.

A screenshot is saved to ``tests/artifacts/jupyterlab.png`` (git-ignored). The test is skipped only
where Debian's Chromium is not installed; ``make venv`` installs it when run as root.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RELEASE = ROOT / "assignments"
STUDENT_JUPYTER = ROOT / "student_setup" / "jupyter"
NOTEBOOK = "a1/01_features.ipynb"
ARTIFACTS = ROOT / "tests" / "artifacts"
SCREENSHOT = ARTIFACTS / "jupyterlab.png"
FIGURE_SCREENSHOT = ARTIFACTS / "jupyterlab-figure.png"
# Debian installs the browser binary here; /usr/bin/chromium is a shell wrapper around it.
DEBIAN_CHROMIUM = Path("/usr/lib/chromium/chromium")
SERVER_START_S = 40
STEP_MS = 30_000

pytestmark = pytest.mark.slow


def _chromium() -> str | None:
    if DEBIAN_CHROMIUM.is_file() and os.access(DEBIAN_CHROMIUM, os.X_OK):
        return str(DEBIAN_CHROMIUM)
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _student_view(notebook: Path) -> dict:
    """Where things are in the release notebook: cell indices and the first stub's message."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]

    def marks(cell):
        return cell.get("metadata", {}).get("nbgrader", {})

    def text(cell):
        return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]

    figure = next(i for i, cell in enumerate(cells) if "show_class_examples" in text(cell))
    stub = next(i for i, cell in enumerate(cells) if cell["cell_type"] == "code" and marks(cell).get("solution"))
    message = re.search(r"raise NotImplementedError\((['\"])(.*?)\1\)", text(cells[stub]))
    assert message, f"the first answer cell of {notebook.name} raises no NotImplementedError with a message"
    tests = next(i for i in range(stub + 1, len(cells)) if str(marks(cells[i]).get("grade_id", "")).endswith("_visible"))
    return {"figure": figure, "tests": tests, "message": message.group(2)}


def _student_environment(scratch: Path) -> dict[str, str]:
    """This venv first on PATH, and Jupyter folders of its own holding only the students' settings."""
    config = scratch / "jupyter-config"
    shutil.copytree(STUDENT_JUPYTER, config)
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("JUPYTER", "JPY_")) and key not in ("MPLBACKEND", "PYTHONPATH")}
    env.update(PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
               JUPYTER_CONFIG_DIR=str(config), JUPYTERLAB_SETTINGS_DIR=str(config / "lab" / "user-settings"),
               JUPYTER_DATA_DIR=str(scratch / "jupyter-data"), JUPYTER_RUNTIME_DIR=str(scratch / "jupyter-runtime"),
               JUPYTERLAB_WORKSPACES_DIR=str(scratch / "jupyter-workspaces"), COURSE_QUICK="1")
    return env


def _wait_for_server(server: subprocess.Popen, url: str, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"jupyter lab exited with status {server.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.25)
    pytest.fail(f"jupyter lab did not answer within {SERVER_START_S} s:\n{log.read_text()[-3000:]}")


def _stop(server: subprocess.Popen) -> None:
    """Stop the server this test started, and its kernel, by their process group."""
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=5)


def test_a_student_runs_the_first_exercise_in_jupyterlab(tmp_path):
    chromium = _chromium()
    if chromium is None:
        pytest.skip("Debian's Chromium is not installed, so JupyterLab cannot be tested in a browser: "
                    "run `apt-get install chromium` (make venv does it when run as root)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the Python package playwright is missing; install the test extra: "
                    ".venv/bin/python -m pip install -e '.[test]' (or run make venv)")

    work = tmp_path / "release"
    shutil.copytree(RELEASE, work, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    view = _student_view(work / NOTEBOOK)
    port, token = _free_port(), secrets.token_hex(16)
    log = tmp_path / "jupyterlab.log"
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
               "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={work}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    base = f"http://127.0.0.1:{port}"
    with log.open("w") as log_file:
        server = subprocess.Popen(command, env=_student_environment(tmp_path), cwd=work, stdout=log_file,
                                  stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_for_server(server, f"{base}/api/status?token={token}", log)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, headless=True,
                                                 args=["--no-sandbox", "--disable-dev-shm-usage"])
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.set_default_timeout(STEP_MS)
                _run_to_the_first_exercise(page, f"{base}/lab/tree/{NOTEBOOK}?token={token}", view)
            finally:
                browser.close()
    finally:
        _stop(server)


def _run_to_the_first_exercise(page, url: str, view: dict) -> None:
    page.goto(url)
    notebook = page.locator(".jp-NotebookPanel").first
    notebook.wait_for()
    # The kernel named in the notebook starts by itself: no dialog asks which one to use.
    kernel = notebook.locator(".jp-KernelName", has_text="Python 3")
    kernel.or_(page.locator(".jp-Dialog")).first.wait_for()
    assert page.locator(".jp-Dialog").count() == 0, f"a dialog opened: {page.locator('.jp-Dialog').first.inner_text()!r}"
    assert page.get_by_text("Select Kernel").count() == 0, "JupyterLab asked the student to select a kernel"
    assert kernel.count() == 1
    notebook.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]').wait_for()

    # Run from the top through the visible tests of the first exercise, as a student would.
    cells = notebook.locator(".jp-Notebook .jp-Cell")
    cells.first.click()
    page.keyboard.press("Escape")
    for _ in range(view["tests"] + 1):
        page.keyboard.press("Shift+Enter")

    error = cells.nth(view["tests"]).locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
    error.first.wait_for()
    shown = error.first.inner_text()
    assert "NotImplementedError" in shown and view["message"] in shown, f"the stub's error is not shown: {shown!r}"
    notebook.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]').wait_for()

    figure = cells.nth(view["figure"]).locator(".jp-OutputArea-output img")
    assert figure.count() >= 1, "the class-examples figure was not rendered as an image"
    assert figure.first.evaluate("image => image.complete && image.naturalWidth > 0"), "the figure's image is empty"
    for index in range(view["tests"]):
        stderr = cells.nth(index).locator('[data-mime-type="application/vnd.jupyter.stderr"]')
        assert stderr.count() == 0, f"cell {index + 1} failed before the first exercise: {stderr.first.inner_text()}"

    # What the student sees is theirs: no instructor tools of nbgrader, no news pop-up.
    menus = page.locator(".lm-MenuBar-itemLabel").all_inner_texts()
    assert "Nbgrader" not in menus and "File" in menus, f"menus: {menus}"
    assert page.get_by_text("Create Assignment").count() == 0, "nbgrader's Create Assignment panel is shown"
    toolbar = notebook.locator(".jp-NotebookPanel-toolbar").inner_text()
    assert "Validate" not in toolbar, f"nbgrader's Validate button is shown: {toolbar!r}"
    assert page.get_by_text(re.compile("Jupyter news")).count() == 0, "JupyterLab asks about Jupyter news"
    assert page.locator(".jp-Dialog").count() == 0

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    cells.nth(view["figure"]).scroll_into_view_if_needed()
    page.screenshot(path=str(FIGURE_SCREENSHOT))
    cells.nth(view["tests"]).scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOT))
