"""The package layout keeps the pipeline's direction: each folder imports only the folders below it."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parent.parent / "actmax"
ALLOWED = {  # folder → the actmax folders it may import (ARCHITECTURE.md's table)
    "errors": set(),
    "models": {"errors"},
    "optvis": {"errors", "models"},
    "inspect": {"errors", "models", "output", "optvis.objectives"},  # objectives: the shared `layer:filter` language
    "output": {"errors"},
    "site": set(),
    "jobs": {"errors", "models", "optvis", "inspect", "output", "site"},
    "cli": {"errors", "models", "optvis", "inspect", "output", "jobs", "site", "__version__"},
}
NO_TENSORFLOW = ("output", "site", "cli")


def imports(path: Path) -> set[str]:
    """The dotted names a module imports; relative ones resolved to `actmax.<folder>.<name>`."""
    here = list(path.relative_to(PACKAGE).parent.parts)
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level:
            base = here[:len(here) - node.level + 1] + (node.module.split(".") if node.module else [])
            found |= {".".join(["actmax", *base, alias.name]) for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            found.add(node.module)
    return found


def modules():
    return sorted(p for p in PACKAGE.rglob("*.py") if p.name not in ("__init__.py", "__main__.py")
                  or p.parent != PACKAGE)


def folder(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return parts[0]


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_flow_one_way(path):
    own = folder(path)
    for name in imports(path):
        if not name.startswith("actmax."):
            assert not (own in NO_TENSORFLOW and name.split(".")[0] in ("tensorflow", "keras")), name
            continue
        target = name.split(".")[1:]
        if target[0] == own:
            continue
        assert target[0] in ALLOWED[own] or ".".join(target[:2]) in ALLOWED[own], f"{own} imports {name}"


def test_every_folder_is_covered():
    assert {folder(p) for p in modules()} <= set(ALLOWED)
