"""The link check finds what it is meant to find."""

import pathlib
import subprocess
import sys

SCRIPT = pathlib.Path(__file__).resolve().parents[1] / "check_links.py"


def run(*files):
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, files)], capture_output=True, text=True)


def test_good_links_and_anchors_pass(tmp_path):
    (tmp_path / "other.md").write_text("# Other page\n\n## The `serve` API, for scripts\n")
    page = tmp_path / "page.md"
    page.write_text(
        "# Page\n\n## A heading\n\nSee [it](#a-heading), [there](other.md#the-serve-api-for-scripts),"
        " [the site](https://example.org/x) and `[not a link](nowhere.md)`.\n"
        "```\n[in code](nowhere.md)\n```\n"
    )
    done = run(page)
    assert done.returncode == 0, done.stdout
    assert "0 broken links" in done.stdout


def test_a_missing_file_and_a_missing_anchor_fail(tmp_path):
    (tmp_path / "other.md").write_text("# Other page\n")
    page = tmp_path / "page.md"
    page.write_text("# Page\n\n[gone](gone.md) and [no anchor](other.md#nothing) and ![pic](img.png)\n")
    done = run(page)
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert any(line.endswith("gone.md: no such file") for line in lines), lines
    assert any("no heading '#nothing' in" in line for line in lines), lines
    assert any(line.endswith("img.png: no such file") for line in lines), lines
    assert "3 broken links" in lines[-1]
