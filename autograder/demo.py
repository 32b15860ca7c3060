"""``course demo``: an offline end-to-end run on the embedded dataset.

Generates (or loads from the cache) the embedded synthetic dataset, executes the demo notebook
shipped in ``autograder/notebooks/`` in a fresh kernel, and writes the executed notebook and an
HTML copy into the output folder.
"""
from __future__ import annotations

import time
from importlib import resources
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from tqdm.auto import tqdm

from course_utils import data

DEMO_NOTEBOOK = "smoke.ipynb"
CELL_TIMEOUT_S = 300


def _execute(notebook: nbformat.NotebookNode, workdir: Path) -> None:
    """Execute ``notebook`` in place with a progress bar over its code cells."""
    code_cells = sum(cell.cell_type == "code" for cell in notebook.cells)
    with tqdm(total=code_cells, desc="demo notebook", unit="cell") as bar:
        client = NotebookClient(
            notebook, timeout=CELL_TIMEOUT_S, kernel_name="python3",
            resources={"metadata": {"path": str(workdir)}},
            on_cell_complete=lambda cell, cell_index: bar.update(1) if cell.cell_type == "code" else None)
        client.execute()


def run(output: Path) -> int:
    """Run the demo, writing into ``output``; return the exit status (0 on success)."""
    output.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    print(f"Embedded dataset: loading or generating it in {data.default_data_dir()} ...")
    dataset = data.load_synthetic()
    print(f"  {dataset} in {time.perf_counter() - started:.1f} s")

    source = resources.files("autograder") / "notebooks" / DEMO_NOTEBOOK
    notebook = nbformat.reads(source.read_text(encoding="utf-8"), as_version=4)
    executed_path = output / DEMO_NOTEBOOK
    try:
        _execute(notebook, output)
    except CellExecutionError as error:
        nbformat.write(notebook, executed_path)
        print(f"The demo notebook failed; the partly executed notebook is in {executed_path}.\n{error}")
        return 1
    nbformat.write(notebook, executed_path)

    from nbconvert import HTMLExporter

    html, _ = HTMLExporter().from_notebook_node(notebook)
    html_path = executed_path.with_suffix(".html")
    html_path.write_text(html, encoding="utf-8")
    print(f"Demo finished in {time.perf_counter() - started:.1f} s.")
    print(f"  executed notebook: {executed_path}\n  HTML to open in a browser: {html_path}")
    return 0
