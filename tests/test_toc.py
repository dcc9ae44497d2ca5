"""tools.notebooks reads the book's table of contents (_toc.yml), nested sections included."""

import pytest

from tools.notebooks import toc_files, toc_notebooks

NESTED_TOC = """\
format: jb-book
root: intro
parts:
  - caption: Part one
    chapters:
      - file: chapters/a
        sections:
          - file: chapters/a_more
            sections:
              - file: chapters/a_deeper
      - file: chapters/b
chapters:
  - file: chapters/c
"""


def _book(tmp_path, toc=NESTED_TOC, missing=()):
    (tmp_path / "_toc.yml").write_text(toc, encoding="utf-8")
    (tmp_path / "chapters").mkdir()
    (tmp_path / "intro.md").write_text("# Intro\n", encoding="utf-8")
    for name in ("a", "a_more", "a_deeper", "b", "c"):
        if name not in missing:
            (tmp_path / "chapters" / f"{name}.ipynb").write_text("{}", encoding="utf-8")
    return tmp_path


def test_toc_files_lists_nested_sections_in_book_order(tmp_path):
    root = _book(tmp_path)
    names = [p.relative_to(root).as_posix() for p in toc_files(root)]
    assert names == [
        "intro.md", "chapters/a.ipynb", "chapters/a_more.ipynb", "chapters/a_deeper.ipynb",
        "chapters/b.ipynb", "chapters/c.ipynb",
    ]
    assert [p.name for p in toc_notebooks(root)] == ["a.ipynb", "a_more.ipynb", "a_deeper.ipynb", "b.ipynb", "c.ipynb"]


def test_toc_files_names_a_missing_nested_section(tmp_path):
    root = _book(tmp_path, missing=("a_deeper",))
    with pytest.raises(FileNotFoundError, match="chapters/a_deeper"):
        toc_files(root)
