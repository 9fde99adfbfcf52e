"""The explorer's page as one ES module, for the notebook widget.

`svdimg serve` sends the page's modules one by one; a notebook widget gets a single module
(anywidget's ``_esm``). This joins the same files (compiled into the extension from the
library's ``page/`` folder) into one: each module becomes a function that returns its
exports, called in import order, and the whole is a factory called once per view, so that
two views of one widget (or two widgets) share no state.

Only the forms the page's modules use are understood: ``import { a, b } from './x.js';``
and ``export`` before ``function``, ``async function`` and ``const``. Anything else is an
error here, not a broken widget in the browser.
"""

from __future__ import annotations

import json
import re
from typing import Dict, List, Tuple

_IMPORT = re.compile(r"^import\s*\{([^}]*)\}\s*from\s*'\./([\w-]+)\.js';[ \t]*$", re.M)
_EXPORT = re.compile(r"^export\s+(?:async\s+function|function|const)\s+([\w$]+)", re.M)
_OTHER = re.compile(r"^\s*(import\b|export\b(?!\s+(async\s+function|function|const)\s))", re.M)


def _module(name: str, source: str) -> Tuple[List[str], str]:
    """A module's dependencies and its body as a function returning its exports."""
    deps: List[str] = []
    lines: List[str] = []

    def bind(match: re.Match) -> str:
        names = [n.strip() for n in match.group(1).split(",") if n.strip()]
        dep = match.group(2)
        deps.append(dep)
        fields = ", ".join(n.replace(" as ", ": ") for n in names)
        return f"const {{ {fields} }} = modules[{json.dumps(dep)}];"

    body = _IMPORT.sub(bind, source)
    stray = _OTHER.search(body)
    if stray:
        line = body[: stray.start()].count("\n") + 1
        raise ValueError(f"{name}.js line {line}: an import or export form the bundle does not know")
    exports = _EXPORT.findall(body)
    body = re.sub(r"^export\s+", "", body, flags=re.M)
    lines.append(f"modules[{json.dumps(name)}] = (() => {{")
    lines.append(body)
    lines.append(f"return {{ {', '.join(exports)} }};")
    lines.append("})();")
    return deps, "\n".join(lines)


def bundle(modules: Dict[str, str], entry: str, html: str, css: str) -> str:
    """One ES module whose default export is anywidget's ``{ render }``.

    ``modules`` maps file names (``app.js``) to sources; ``entry`` is the module whose
    ``render({ model, el, html, css })`` draws a view.
    """
    parsed = {}
    for file, source in modules.items():
        name = file[:-3] if file.endswith(".js") else file
        parsed[name] = _module(name, source)
    order: List[str] = []
    visiting = set()

    def visit(name: str) -> None:
        if name in order:
            return
        if name in visiting:
            raise ValueError(f"{name}.js imports itself through other modules")
        if name not in parsed:
            raise ValueError(f"a module imports {name}.js, which is not in the page")
        visiting.add(name)
        for dep in parsed[name][0]:
            visit(dep)
        visiting.discard(name)
        order.append(name)

    entry = entry[:-3] if entry.endswith(".js") else entry
    visit(entry)
    parts = [
        "// svdimg's explorer, joined from the page's modules by svdimg._bundle.",
        f"const HTML = {json.dumps(html)};",
        f"const CSS = {json.dumps(css)};",
        "function explorer() {",
        "const modules = {};",
    ]
    parts += [parsed[name][1] for name in order]
    parts += [f"return modules[{json.dumps(entry)}];", "}"]
    parts.append(
        "export default { render({ model, el }) "
        "{ return explorer().render({ model, el, html: HTML, css: CSS }); } };"
    )
    return "\n".join(parts) + "\n"
