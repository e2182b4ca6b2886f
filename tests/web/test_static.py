"""The browser app's files: every module resolves, the offline shell lists what the workspace needs, and the
annotator's download stays within its byte budget (the issue's 150 KB for HTML + JS + CSS, uncompressed)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kolam.web import STATIC_DIR

SHELL_BUDGET = 150 * 1024
_IMPORT = re.compile(
    r"""(?:import|export)\s[^'"]*?from\s+["'](\.{1,2}/[^"']+)["']|import\(\s*["'](\.{1,2}/[^"']+)["']"""
)


def shell_list() -> list[str]:
    text = (STATIC_DIR / "sw.js").read_text()
    block = text[text.index("const SHELL = [") : text.index("];", text.index("const SHELL = ["))]
    return re.findall(r'"([^"]+)"', block)


def served(url: str) -> Path:
    return STATIC_DIR / "index.html" if url == "/" else STATIC_DIR / url.removeprefix("/static/")


def imports_of(path: Path) -> list[Path]:
    found = []
    for static, dynamic in _IMPORT.findall(path.read_text()):
        target = static or dynamic
        if "${" not in target:
            found.append((path.parent / target).resolve())
    return found


@pytest.mark.parametrize("module", sorted(STATIC_DIR.rglob("*.js")), ids=lambda p: str(p.relative_to(STATIC_DIR)))
def test_every_relative_import_resolves(module: Path) -> None:
    missing = [str(p) for p in imports_of(module) if not p.exists()]
    assert not missing, f"{module.name} imports files that do not exist: {missing}"


def test_the_offline_shell_holds_every_module_the_workspace_can_load() -> None:
    shell = {served(u).resolve() for u in shell_list()}
    assert all(p.exists() for p in shell), [str(p) for p in shell if not p.exists()]
    js = STATIC_DIR / "js"
    workspace = [js / "main.js", js / "workspace.js", *js.glob("work/*.js"), *js.glob("interfaces/*.js")]
    needed, todo = set(), [p.resolve() for p in workspace]
    while todo:
        path = todo.pop()
        if path in needed:
            continue
        needed.add(path)
        todo += [p for p in imports_of(path) if "pages" not in p.parts or p.name == "login.js"]
    assert not needed - shell, f"not precached for offline use: {sorted(str(p) for p in needed - shell)}"


def test_the_annotators_shell_fits_its_byte_budget() -> None:
    total = sum(served(u).stat().st_size for u in shell_list())
    assert total <= SHELL_BUDGET, f"the offline shell is {total:,} bytes; the budget is {SHELL_BUDGET:,}"


def test_the_workspace_preloads_exactly_what_each_interface_imports() -> None:
    """workspace.js requests an interface's own modules together with it; the list must not drift."""
    text = (STATIC_DIR / "js" / "workspace.js").read_text()
    registry = text[text.index("const INTERFACES = {") : text.index("};", text.index("const INTERFACES = {"))]
    core = {(STATIC_DIR / "js" / name).resolve() for name in ("dom.js", "api.js", "hotkeys.js")}
    kinds = re.findall(r"\n  (\w+): \{(.*?)\n  \},", registry, flags=re.S)
    assert {k for k, _ in kinds} == {"image_classes", "text_classes", "image_boxes", "transcription"}
    for kind, body in kinds:
        module = STATIC_DIR / "js" / re.search(r'module: "([^"]+)"', body).group(1)
        assert (STATIC_DIR / "css" / re.search(r'stylesheet: "([^"]+)"', body).group(1)).exists(), kind
        uses = {(STATIC_DIR / "js" / p).resolve() for p in re.findall(r'"([\w/]+\.js)"', body)} - {module.resolve()}
        needed, todo = set(), imports_of(module)
        while todo:
            path = todo.pop()
            if path not in needed and path not in core:
                needed.add(path)
                todo += imports_of(path)
        names = sorted(p.name for p in uses), sorted(p.name for p in needed)
        assert uses == needed, f"{kind}: preloads {names[0]}, imports {names[1]}"
