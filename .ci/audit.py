"""`make audit`: pip-audit over the project's virtual environment. A known advisory fails the
run unless `.pip-audit-ignore` lists its ID with a reason why it does not apply here. When
the vulnerability service cannot be reached (an office machine without network), or does
not know a package, the run says so and passes: no answer is not a finding."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IGNORE_FILE = ROOT / ".pip-audit-ignore"


def read_ignored(path: Path) -> dict[str, str]:
    """{advisory ID: reason} from lines "ID  reason …"; '#' starts a comment line. Raises
    SystemExit for an ID without a reason."""
    ignored: dict[str, str] = {}
    if not path.exists():
        return ignored
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        vuln_id, _, reason = line.partition(" ")
        if not reason.strip():
            raise SystemExit(f"{path.name}, rad {number}: {vuln_id} saknar motivering.")
        ignored[vuln_id] = reason.strip()
    return ignored


def main() -> int:
    ignored = read_ignored(IGNORE_FILE)
    command = [sys.executable, "-m", "pip_audit", "--local", "--format", "json"]
    command += ["--progress-spinner", "off", "--timeout", "20", "--skip-editable"]
    for vuln_id in ignored:
        command += ["--ignore-vuln", vuln_id]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired:
        print("pip-audit: VARNING – sårbarhetstjänsten svarade inte inom 10 min; ingen granskning.")
        return 0
    try:
        report = json.loads(done.stdout)
    except ValueError:
        last = (done.stderr.strip().splitlines() or ["(inget svar)"])[-1]
        if "No module named pip_audit" in done.stderr:
            print("pip-audit saknas: installera dev-beroendena (make install).")
            return 1
        print(
            f"pip-audit: VARNING – sårbarhetstjänsten gick inte att nå ({last[:200]}); "
            "beroendena granskades inte den här gången."
        )
        return 0

    dependencies = report.get("dependencies", [])
    skipped = [d for d in dependencies if "skip_reason" in d]
    found = [(d, v) for d in dependencies for v in d.get("vulns", [])]
    audited = len(dependencies) - len(skipped)
    print(
        f"pip-audit: {audited} paket granskade, {len(skipped)} okända för tjänsten, "
        f"{len(found)} kända sårbarheter, {len(ignored)} undantag i {IGNORE_FILE.name}."
    )
    if skipped:
        names = ", ".join(d["name"] for d in skipped[:8]) + (" …" if len(skipped) > 8 else "")
        print(f"  VARNING – kunde inte granskas (versionen finns inte hos tjänsten): {names}")
    for vuln_id, reason in ignored.items():
        print(f"  undantag {vuln_id}: {reason}")
    for dependency, vuln in found:
        fixes = ", ".join(vuln.get("fix_versions", [])) or "ingen rättad version än"
        print(
            f"  SÅRBAR {dependency['name']} {dependency['version']}: {vuln['id']} "
            f"(rättad i {fixes}). Uppgradera, eller lägg {vuln['id']} i {IGNORE_FILE.name} "
            "med en motivering till varför den inte gäller här."
        )
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
