"""docs/architecture.md names every package and module at the root of the app,
so the map stays true when one is added."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "services/web/bulletin"


def test_every_part_of_the_package_root_is_on_the_map():
    page = (ROOT / "docs/architecture.md").read_text()
    parts = [
        f"{path.name}/" if path.is_dir() else path.name
        for path in PACKAGE.iterdir()
        if not path.name.startswith(("_", ".")) or path.name == "__init__.py"
    ]
    assert parts, "no modules found in services/web/bulletin"
    assert [part for part in parts if part not in page] == []


def test_the_package_root_stays_small():
    """The assembly and a handful of packages: new modules go into one of them."""
    modules = [path for path in PACKAGE.glob("*.py") if path.name != "__init__.py"]
    assert len(modules) <= 6, sorted(path.name for path in modules)
