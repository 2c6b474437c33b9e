"""`make audit` (.ci/audit.py): a known advisory fails unless documented with a reason; an
unreachable vulnerability service warns and passes."""

from __future__ import annotations

import importlib.util
import json
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def audit(monkeypatch, tmp_path):
    spec = importlib.util.spec_from_file_location("ci_audit", ROOT / ".ci" / "audit.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "IGNORE_FILE", tmp_path / ".pip-audit-ignore")
    return module


def _answer(monkeypatch, audit, stdout: str, stderr: str = "", seen: list | None = None):
    def run(command, **kwargs):
        if seen is not None:
            seen.append(command)
        return subprocess.CompletedProcess(command, 1, stdout, stderr)

    monkeypatch.setattr(audit.subprocess, "run", run)


VULNERABLE = json.dumps(
    {"dependencies": [
        {"name": "pypdf", "version": "3.0.0",
         "vulns": [{"id": "GHSA-test-0001", "fix_versions": ["3.17.0"]}]},
        {"name": "numpy", "version": "2.0.0", "vulns": []},
    ], "fixes": []}
)  # fmt: skip


def test_a_known_advisory_fails(audit, monkeypatch, capsys):
    _answer(monkeypatch, audit, VULNERABLE)
    assert audit.main() == 1
    assert "SÅRBAR pypdf 3.0.0: GHSA-test-0001" in capsys.readouterr().out


def test_a_documented_advisory_is_passed_on_as_ignored(audit, monkeypatch, capsys):
    audit.IGNORE_FILE.write_text("# kommentar\nGHSA-test-0001  gäller krypterade PDF:er\n")
    seen: list = []
    _answer(monkeypatch, audit, json.dumps({"dependencies": [], "fixes": []}), seen=seen)
    assert audit.main() == 0
    assert seen[0][-2:] == ["--ignore-vuln", "GHSA-test-0001"]
    assert "undantag GHSA-test-0001: gäller krypterade PDF:er" in capsys.readouterr().out


def test_an_undocumented_ignore_is_refused(audit):
    audit.IGNORE_FILE.write_text("GHSA-test-0001\n")
    with pytest.raises(SystemExit, match="saknar motivering"):
        audit.main()


def test_an_unreachable_service_warns_and_passes(audit, monkeypatch, capsys):
    _answer(monkeypatch, audit, "", "requests.exceptions.ConnectionError: no route to host")
    assert audit.main() == 0
    assert "VARNING – sårbarhetstjänsten gick inte att nå" in capsys.readouterr().out
