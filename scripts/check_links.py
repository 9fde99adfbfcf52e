#!/usr/bin/env python3
"""Checks the relative links of the README and the docs: every linked file exists, and
every `#anchor` names a heading of the page it points to (GitHub's and mdBook's rule: lower
case, punctuation dropped, spaces to hyphens). Links to other sites are not followed.

Usage: python3 scripts/check_links.py [FILE.md ...]  (default: README.md and docs/**/*.md)
Exits 1 and prints one line per broken link."""

import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
FENCE = re.compile(r"^(```|~~~)")


def slug(heading):
    """The anchor a heading gets."""
    text = re.sub(r"`|\*", "", heading.strip().lower())
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def prose_lines(path):
    """The lines of a Markdown file outside fenced code blocks, with their numbers."""
    inside = False
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if FENCE.match(line.strip()):
            inside = not inside
            continue
        if not inside:
            yield number, line


def anchors(path):
    found, seen = set(), {}
    for _, line in prose_lines(path):
        m = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if m:
            base = slug(m.group(1))
            n = seen.get(base, 0)
            seen[base] = n + 1
            found.add(base if n == 0 else f"{base}-{n}")
    return found


def shown(path):
    """A path as printed: from the repository's root when it is inside it."""
    try:
        return path.relative_to(ROOT)
    except ValueError:
        return path


def check(path):
    problems = []
    for number, line in prose_lines(path):
        # Inline code is not a link.
        for target in LINK.findall(re.sub(r"`[^`]*`", "", line)):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("//"):
                continue
            file_part, _, anchor = target.partition("#")
            dest = (path.parent / file_part).resolve() if file_part else path
            where = f"{shown(path)}:{number}: {target}"
            if not dest.exists():
                problems.append(f"{where}: no such file")
            elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
                problems.append(f"{where}: no heading '#{anchor}' in {shown(dest)}")
    return problems


def main(argv):
    files = [pathlib.Path(a).resolve() for a in argv] or [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    problems = [p for f in files if "book" not in shown(f).parts[:2] for p in check(f)]
    for p in problems:
        print(p)
    print(f"check_links: {len(files)} files, {len(problems)} broken links")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
