"""The codec's rooms (crates/svdimg/src/format): data flows one way.

Every module names the modules it uses (`use super::x`, `crate::format::x::y`,
`super::x::f(...)`); those references, resolved to files, must form no cycle, and
format/mod.rs must stay the public face: documentation, `mod` and `use` lines only.
The check is tested on made-up trees too, so that it can fail.
"""

import pathlib
import re

FORMAT = pathlib.Path(__file__).resolve().parents[2] / "crates" / "svdimg" / "src" / "format"

REF = re.compile(r"\b(super(?:::super)*|crate::format)::((?:[a-z_][a-z0-9_]*::)*)(\{[^}]*\}|[A-Za-z_][A-Za-z0-9_]*)")


def module_of(path, root):
    """('v2', 'header') for v2/header.rs; ('v2',) for v2/mod.rs; () for mod.rs."""
    parts = path.relative_to(root).with_suffix("").parts
    return parts[:-1] if parts[-1] == "mod" else parts


def modules(root):
    return {module_of(p, root): p for p in root.rglob("*.rs")}


def resolve(mods, start, names):
    """The deepest existing module that `start` + `names` reaches (not `start` itself)."""
    path = tuple(start)
    best = None
    for n in names:
        path = path + (n,)
        if path in mods:
            best = path
        else:
            break
    return best


def edges(root):
    mods = modules(root)
    graph = {m: set() for m in mods}
    for m, path in mods.items():
        text = "\n".join(line for line in path.read_text().splitlines() if not line.lstrip().startswith("//"))
        # The module a `super` in this file means: a file's parent is its folder's module.
        parent = m[:-1] if path.name != "mod.rs" else m[:-1]
        for base, chain, last in REF.findall(text):
            if base == "crate::format":
                start = ()
            else:
                start = parent[: len(parent) - (base.count("super") - 1)] if base.count("super") > 1 else parent
            names = [n for n in chain.split("::") if n]
            targets = []
            if last.startswith("{"):
                for item in re.split(r"[,\s]+", last.strip("{}")):
                    head = item.split("::")[0]
                    if head == "self":
                        targets.append(names)
                    elif head and head not in ("as", "_"):
                        targets.append(names + [head])
            else:
                targets.append(names + [last])
            for t in targets:
                r = resolve(mods, start, t)
                if r is None:
                    r = start  # `super::Item`: an item of that module itself
                if r != m:
                    graph[m].add(r)
        # A module's own children, named by their bare path (`use child::X`, `child::f()`).
        for child in mods:
            if len(child) == len(m) + 1 and child[: len(m)] == m:
                if re.search(rf"(?<![:\w]){child[-1]}::", text):
                    graph[m].add(child)
    return graph


def cycle(graph):
    """One cycle as a list of modules, or None."""
    state, stack = {}, []

    def visit(v):
        state[v] = 1
        stack.append(v)
        for w in sorted(graph[v]):
            if state.get(w) == 1:
                return stack[stack.index(w):] + [w]
            if w not in state:
                found = visit(w)
                if found:
                    return found
        stack.pop()
        state[v] = 2
        return None

    for v in sorted(graph):
        if v not in state:
            found = visit(v)
            if found:
                return found
    return None


def name(m):
    return "/".join(m) or "format"


def test_the_codec_has_no_import_cycle():
    graph = edges(FORMAT)
    assert len(graph) > 20, sorted(graph)
    found = cycle(graph)
    assert found is None, " -> ".join(map(name, found))


def test_versions_live_in_their_folders_and_do_not_use_each_other():
    graph = edges(FORMAT)
    for m, targets in graph.items():
        for t in targets:
            if m and m[0] in ("v1", "v2") and t and t[0] in ("v1", "v2"):
                assert m[0] == t[0], f"{name(m)} uses {name(t)}"


def test_mod_rs_is_only_the_public_face():
    for line in (FORMAT / "mod.rs").read_text().splitlines():
        s = line.strip()
        ok = (not s or s.startswith("//") or s.startswith("mod ") or s.startswith("pub use ")
              or s.startswith("pub(crate) use ") or re.fullmatch(r"[A-Za-z_:, {}]*[,;]?", s) is not None
              or s in ("};",))
        assert ok, f"format/mod.rs holds more than its face: {line!r}"


def test_the_check_finds_a_cycle(tmp_path):
    (tmp_path / "mod.rs").write_text("mod a;\nmod b;\nmod v1;\n")
    (tmp_path / "a.rs").write_text("use super::b::thing;\n")
    (tmp_path / "b.rs").write_text("fn f() { super::a::other(); }\n")
    (tmp_path / "v1").mkdir()
    (tmp_path / "v1" / "mod.rs").write_text("mod x;\nuse x::Y;\n")
    (tmp_path / "v1" / "x.rs").write_text("use super::CONST;\n// use crate::format::a;\n")
    graph = edges(tmp_path)
    assert graph[("a",)] == {("b",)} and graph[("b",)] == {("a",)}
    assert graph[("v1", "x")] == {("v1",)}, graph
    assert graph[("v1",)] == {("v1", "x")}
    assert cycle(graph) is not None
    (tmp_path / "b.rs").write_text("use crate::format::{v1, a as _};\n")
    (tmp_path / "v1" / "x.rs").write_text("")
    graph = edges(tmp_path)
    assert graph[("b",)] == {("v1",), ("a",)}, graph
    assert cycle(graph) == [("a",), ("b",), ("a",)]
