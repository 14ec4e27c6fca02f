"""`shoot2top.sample.generate` exports only what it owns, and nothing in the repository
imports through it a name another module owns (the world's publishers and topics, the
planted trends, the observation schedule: import them from `world`, `trends`, `items`)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from shoot2top.sample import generate

ROOT = Path(__file__).resolve().parents[2]
SEARCHED = ("src", "tests", "bench", "scripts", "notebooks", "topologies", "examples")
SUFFIXES = {".py", ".sh", ".ipynb", ".md"}
IMPORT = re.compile(r"from shoot2top\.sample\.generate import (\([^)]*\)|[^\n\\\"]+)")


def defined_in(path: Path) -> set[str]:
    """The names a module defines itself at its top level (not those it imports)."""
    names: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def test_generate_exports_only_what_it_defines() -> None:
    owned = defined_in(Path(generate.__file__)) - {"__all__"}
    assert set(generate.__all__) <= owned, set(generate.__all__) - owned


def test_nothing_imports_through_generate_what_another_module_owns() -> None:
    found = []
    for folder in SEARCHED:
        for path in sorted((ROOT / folder).rglob("*")):
            if path.suffix not in SUFFIXES or not path.is_file():
                continue
            for match in IMPORT.finditer(path.read_text(encoding="utf-8", errors="replace")):
                lines = [line.split("#")[0] for line in match.group(1).strip("()").splitlines()]
                names = [part.split()[0] for part in ",".join(lines).split(",") if part.strip()]
                found += [(path.relative_to(ROOT), n) for n in names if n not in generate.__all__]
    assert found == []
