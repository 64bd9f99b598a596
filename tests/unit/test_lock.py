"""requirements.lock pins every dependency that pyproject.toml declares."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_declared_dependency_is_pinned_in_the_lock():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = [Requirement(line) for line in project["dependencies"] + project["optional-dependencies"]["test"]]
    pinned = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-]+)==(\S+)", line)
        if match:
            pinned[_normal(match[1])] = match[2]
    missing = [str(r) for r in declared if _normal(r.name) not in pinned]
    assert missing == [], "run scripts/lock.sh: " + ", ".join(missing)
    outside = [f"{r.name}=={pinned[_normal(r.name)]}" for r in declared
               if not r.specifier.contains(pinned[_normal(r.name)], prereleases=True)]
    assert outside == [], "pins outside pyproject's ranges; run scripts/lock.sh: " + ", ".join(outside)
