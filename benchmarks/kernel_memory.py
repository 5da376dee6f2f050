"""Memory of one student's kernel: each notebook run top to bottom in a fresh kernel.

Usage: .venv/bin/python benchmarks/kernel_memory.py [--no-save] [notebooks/00_tour.ipynb ...]

For each notebook (default: all of notebooks/), a fresh python3 kernel runs every cell (cells
tagged needs-network are skipped), then reports its resident memory now and at its peak
(``ru_maxrss``) and the wall time. This is what a JupyterHub or Binder seat must provide.

Unless ``--no-save`` is given, the numbers are stored in ``benchmarks/results/kernel_memory.json``
(with the date, the machine and the library versions), and the tables in docs/classroom.md and
benchmarks/README.md are rewritten from that file (``tests/test_guide.py`` fails when a page's
table differs from the stored numbers).
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "kernel_memory.json"
#: The pages that show the table, each between the two markers below.
PAGES = (ROOT / "docs" / "classroom.md", ROOT / "benchmarks" / "README.md")
START, END = "<!-- kernel-memory:start -->", "<!-- kernel-memory:end -->"
REPORT = """import os, resource
rss = int(open(f"/proc/{os.getpid()}/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
print(f"MEMORY {rss / 2**20:.0f} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}")"""


def measure(path: Path) -> dict[str, float]:
    """Run one notebook in a fresh kernel: ``{"rss_end_mib", "peak_mib", "seconds"}``."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    nb.cells = [c for c in nb.cells if "needs-network" not in c.metadata.get("tags", [])]
    nb.cells.append(nbformat.v4.new_code_cell(REPORT))
    start = time.perf_counter()
    NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    seconds = time.perf_counter() - start
    line = next(o.text for o in nb.cells[-1].outputs if o.output_type == "stream" and "MEMORY" in o.text)
    now, peak = map(float, line.split()[1:3])
    return {"rss_end_mib": now, "peak_mib": peak, "seconds": round(seconds, 1)}


def _machine() -> str:
    import tensorflow as tf

    return (f"{os.cpu_count()}-core CPU ({platform.machine()}), Python {platform.python_version()}, "
            f"TensorFlow {tf.__version__}")


def table(results: dict) -> str:
    """The Markdown table (and the sentence above it) for the stored ``results``."""
    lines = [
        f"Measured {results['date']} on a {results['machine']}, Keras {results['keras']}:",
        "",
        "| notebook | kernel memory at the end | peak | run time |",
        "|---|---|---|---|",
    ]
    for name, row in results["notebooks"].items():
        lines.append(f"| {name} | {row['rss_end_mib']:,.0f} MiB | {row['peak_mib']:,.0f} MiB "
                     f"| {row['seconds']:.1f} s |")
    largest = max(results["notebooks"].items(), key=lambda item: item[1]["peak_mib"])
    lines += ["", f"The largest is {largest[0]}, at a peak of {largest[1]['peak_mib']:,.0f} MiB."]
    return "\n".join(lines)


def with_table(page: str, results: dict) -> str:
    """``page`` with the text between the two markers replaced by ``table(results)``."""
    head, rest = page.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{table(results)}\n{END}{tail}"


def load() -> dict:
    """The stored results (``benchmarks/results/kernel_memory.json``)."""
    return json.loads(RESULTS.read_text())


def main() -> None:
    args = [a for a in sys.argv[1:] if a != "--no-save"]
    save = "--no-save" not in sys.argv[1:]
    paths = [Path(p) for p in args] or sorted((ROOT / "notebooks").glob("*.ipynb"))
    print(f"{'notebook':34s} {'RSS at end':>11s} {'peak RSS':>9s} {'run time':>9s}")
    rows = {}
    for path in paths:
        row = rows[path.stem] = measure(path)
        print(f"{path.name:34s} {row['rss_end_mib']:8.0f} MiB {row['peak_mib']:5.0f} MiB {row['seconds']:7.1f} s",
              flush=True)
    if not save:
        return
    import keras

    stored = load() if RESULTS.exists() else {"notebooks": {}}
    stored.update(date=datetime.date.today().isoformat(), machine=_machine(), keras=keras.__version__)
    stored["notebooks"] = dict(sorted({**stored["notebooks"], **rows}.items()))
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(stored, indent=1) + "\n")
    for page in PAGES:
        page.write_text(with_table(page.read_text(), stored))
    pages = ", ".join(str(p.relative_to(ROOT)) for p in PAGES)
    print(f"stored {RESULTS.relative_to(ROOT)} and rewrote the tables of {pages}")


if __name__ == "__main__":
    main()
