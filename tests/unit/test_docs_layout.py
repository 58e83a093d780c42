"""The layout table in docs/architecture.md against the tree, both ways.

Every folder a newcomer meets under `app/` and `tests/` (a package, or any folder directly under
them) and each of the fixed top-level folders must have a row, and every row must name a path that
exists. The tree is read when the test runs, so a move that forgets the docs fails here, naming
what is missing.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYOUT_DOC = Path("docs/architecture.md")
SECTION = "## Layout"
# DESIGN.md section 11: the fixed top level, plus the folders added as needed.
TOP_LEVEL = ("app", "tenants", "schemas", "migrations", "config", "tests", "bench", "docs")
# Folders whose packages and direct subfolders each need their own row.
DESCRIBED_IN_FULL = ("app", "tests")
# A table row naming a path: | `app/models/` | ... |
ROW = re.compile(r"^\|\s*`([^`]+)`\s*\|")


def described_paths(doc: str) -> list[str]:
    """The paths named in the first column of the layout section's table."""
    lines = doc.splitlines()
    start = lines.index(SECTION) + 1
    paths = []
    for line in lines[start:]:
        if line.startswith("## "):
            break
        match = ROW.match(line)
        if match:
            paths.append(match.group(1).rstrip("/"))
    return paths


def _skipped(relative: Path) -> bool:
    """Caches, hidden folders and build output are not part of the layout."""
    return any(
        part.startswith((".", "__")) or part.endswith(".egg-info") for part in relative.parts
    )


def folders_needing_a_row(root: Path) -> set[str]:
    """The fixed top-level folders that exist, every folder directly under app/ and tests/, and
    every package (a folder with an ``__init__.py``) anywhere below them."""
    needed = {name for name in TOP_LEVEL if (root / name).is_dir()}
    for top in DESCRIBED_IN_FULL:
        base = root / top
        if not base.is_dir():
            continue
        folders = [child for child in base.iterdir() if child.is_dir()]
        folders += [init.parent for init in base.rglob("__init__.py")]
        needed.update(
            folder.relative_to(root).as_posix()
            for folder in folders
            if not _skipped(folder.relative_to(root))
        )
    return needed


def layout_problems(root: Path) -> list[str]:
    """Each folder with no row and each row whose path is gone, one line each."""
    paths = described_paths((root / LAYOUT_DOC).read_text(encoding="utf-8"))
    described = set(paths)
    problems = [
        f"{folder}/ is not described in {LAYOUT_DOC} ({SECTION})"
        for folder in sorted(folders_needing_a_row(root) - described)
    ]
    problems += [
        f"{LAYOUT_DOC} describes {path}, which does not exist"
        for path in paths
        if not (root / path).exists()
    ]
    return problems


def test_layout_in_the_docs_matches_the_tree() -> None:
    problems = layout_problems(ROOT)
    assert not problems, "\n".join(problems)


def test_layout_section_names_the_top_level_and_the_packages() -> None:
    paths = described_paths((ROOT / LAYOUT_DOC).read_text(encoding="utf-8"))
    assert "app" in paths and "tests/unit" in paths
    assert len(paths) == len(set(paths)), "a path is described twice"


# --- negative controls: a synthetic tree the check must refuse ---------------------------------


def _tree(root: Path, rows: list[str], packages: list[str]) -> None:
    for package in packages:
        (root / package).mkdir(parents=True, exist_ok=True)
        (root / package / "__init__.py").write_text("")
    table = "\n".join(f"| `{row}/` | something |" for row in rows)
    (root / "docs").mkdir(exist_ok=True)
    (root / LAYOUT_DOC).write_text(
        f"# Architecture\n\n{SECTION}\n\n| path | what |\n|---|---|\n{table}\n\n## Later\n\n"
        "| `app/not_a_row/` | outside the section |\n"
    )


def test_synthetic_tree_described_in_full_passes(tmp_path: Path) -> None:
    _tree(
        tmp_path, ["app", "app/cases", "tests", "tests/unit", "docs"], ["app/cases", "tests/unit"]
    )
    assert layout_problems(tmp_path) == []


@pytest.mark.parametrize(
    ("packages", "expected"),
    [
        (["app/cases", "app/transfers", "tests/unit"], "app/transfers/ is not described"),
        (["app/cases", "app/cases/deep", "tests/unit"], "app/cases/deep/ is not described"),
    ],
    ids=["undescribed-package", "undescribed-nested-package"],
)
def test_undescribed_package_fails(tmp_path: Path, packages: list[str], expected: str) -> None:
    _tree(tmp_path, ["app", "app/cases", "tests", "tests/unit", "docs"], packages)
    problems = layout_problems(tmp_path)
    assert any(expected in problem for problem in problems), problems


def test_undescribed_plain_folder_directly_under_tests_fails(tmp_path: Path) -> None:
    _tree(tmp_path, ["app", "tests", "docs"], [])
    (tmp_path / "app").mkdir()
    (tmp_path / "tests" / "fixtures").mkdir(parents=True)
    expected = f"tests/fixtures/ is not described in {LAYOUT_DOC} ({SECTION})"
    assert layout_problems(tmp_path) == [expected]


def test_described_path_that_is_gone_fails(tmp_path: Path) -> None:
    _tree(tmp_path, ["app", "app/cases", "app/moved_away", "tests", "docs"], ["app/cases"])
    (tmp_path / "tests").mkdir()
    assert layout_problems(tmp_path) == [
        f"{LAYOUT_DOC} describes app/moved_away, which does not exist"
    ]
