"""Per-page cost of reading text-layer PDFs (parse, layout, clean, structure; no worker
process, no OCR), side by side for two copies of the `ingest` package: this checkout and a
baseline (e.g. the commit before a change, unpacked with `git archive`). Each side runs in
its own process, each file `--repeat` times, and the best CPU time per file counts (CPU
time, so other jobs on the machine disturb the figures less). OCR is
off (STRATEGISOK_OCR=0): scanned pages cost seconds each and are measured on their own.

    mkdir -p /tmp/base && git archive <commit> ingest | tar -x -C /tmp/base
    .venv/bin/python -m bench.pdf_ingest --baseline /tmp/base
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT.parent / "shared" / "data" / "pdf-samples"
OFFICE = ROOT / "tests" / "data" / "office"

_CHILD = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
from pypdf import PdfReader
from ingest.formats import read_pdf
from ingest.models import IngestError
import io
repeat = int(sys.argv[2])
out = {}
for path in sys.argv[3:]:
    data = open(path, "rb").read()
    try:
        pages = len(PdfReader(io.BytesIO(data)).pages)
    except Exception:
        continue
    best = None
    for _ in range(repeat):
        start = time.process_time()
        try:
            read_pdf(data, path)
            ok = True
        except IngestError:
            ok = False
        elapsed = time.process_time() - start
        best = elapsed if best is None else min(best, elapsed)
    out[path] = {"pages": pages, "seconds": best, "read": ok}
print(json.dumps(out))
"""


def _run(package_root: Path, files: list[str], repeat: int) -> dict:
    # Text-layer cost only: OCR of scanned pages is another (much larger) cost.
    env = {**os.environ, "STRATEGISOK_OCR": "0"}
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, str(package_root), str(repeat), *files],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", type=Path, required=True, help="folder holding ingest/")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    files = sorted(str(p) for p in OFFICE.glob("*.pdf"))
    if SAMPLES.is_dir():
        files += sorted(str(p) for p in SAMPLES.rglob("*.pdf"))
    else:
        print(f"{SAMPLES} saknas: mäter bara testdokumenten", file=sys.stderr)
    ours = _run(ROOT, files, args.repeat)
    base = _run(args.baseline, files, args.repeat)
    rows = []
    for group, prefix in (("office", str(OFFICE)), ("pdf-samples", str(SAMPLES))):
        # Files both sides read with a text layer; scans (OCR) are measured elsewhere.
        both = [f for f in ours if f.startswith(prefix) and f in base and base[f]["read"]]
        pages = sum(ours[f]["pages"] for f in both)
        if not pages:
            continue
        ours_s = sum(ours[f]["seconds"] for f in both)
        base_s = sum(base[f]["seconds"] for f in both)
        rows.append(
            {
                "files": group,
                "count": len(both),
                "pages": pages,
                "ms_per_page": round(1000 * ours_s / pages, 2),
                "baseline_ms_per_page": round(1000 * base_s / pages, 2),
                "ratio": round(ours_s / base_s, 3),
            }
        )
    print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
