"""Bad inputs: each gets one problem naming the file and the reason, and the other inputs are still read."""

from __future__ import annotations

import shutil

import pytest
from conftest import DATA

from composer.ingest import load_items

GOOD = "A good title\n\nA good body sentence that is read whatever happens around it.\n"


@pytest.fixture
def folder(tmp_path):
    """A folder holding one good text file beside whatever the test adds."""
    (tmp_path / "good.txt").write_text(GOOD, encoding="utf-8")
    return tmp_path


def _only_problem(result, level="error"):
    (problem,) = result.problems
    assert problem.level == level
    assert [item.title for item in result.items] == ["A good title"]
    return problem


def test_empty_file(folder):
    """An empty (or blank) file is an error naming it."""
    (folder / "empty.txt").write_text("\n  \n", encoding="utf-8")
    problem = _only_problem(load_items([folder]))
    assert problem.path.endswith("empty.txt") and problem.message == "empty file"


def test_binary_file(folder):
    """A file with NUL bytes is refused as binary, whatever its extension."""
    (folder / "photo.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    problem = _only_problem(load_items([folder]))
    assert problem.path.endswith("photo.txt") and "binary" in problem.message


@pytest.mark.parametrize("suffix", [".txt", ".json"])
def test_binary_file_without_a_nul_byte(folder, suffix):
    """Binary data with no NUL byte (compressed or encrypted bytes; 4 KB drawn by a fixed seed) is refused as
    binary too, not read as an article of replacement characters."""
    import random

    noise = bytes(byte for byte in random.Random(8).randbytes(6000) if byte)[:4000]
    (folder / f"noise{suffix}").write_bytes(noise)
    problem = _only_problem(load_items([folder]))
    assert problem.path.endswith(f"noise{suffix}") and problem.message == "binary file, not text: skipped"


def test_invalid_utf8_is_decoded_with_replacement_and_a_warning(folder):
    """Latin-1 bytes in a text dump: the article is still read, with U+FFFD, and a warning names the line."""
    (folder / "latin1.txt").write_bytes("Caf\xe9 title\n\nThe caf\xe9 opened on Monday in Geneva.\n".encode("latin-1"))
    result = load_items([folder])
    (problem,) = result.problems
    assert problem.level == "warning" and problem.line == 1 and "not valid UTF-8" in problem.message
    latin = next(item for item in result.items if item.source.endswith("latin1.txt"))
    assert latin.title == "Caf\ufffd title"


def test_file_over_the_size_limit_is_refused_unread(folder):
    """A 50 MB text file is refused with its size and the setting that raises the limit."""
    line = "A sentence of filler text that goes on and on, repeated to make a large dump.\n"
    with open(folder / "huge.txt", "w", encoding="utf-8") as file:
        file.write(line * (50 * 1024 * 1024 // len(line) + 1))
    problem = _only_problem(load_items([folder], max_file_mb=20))
    assert problem.path.endswith("huge.txt")
    assert "50.0 MB is over the 20 MB input limit" in problem.message
    assert "WEEKLY_INGEST__MAX_FILE_MB" in problem.message


def test_folder_with_no_inputs(tmp_path, folder):
    """A folder without input files is a warning naming it (an empty feeds folder is not fatal); other paths
    are still read."""
    empty = tmp_path / "nothing"
    empty.mkdir()
    (empty / "notes.pdf").write_bytes(b"%PDF-1.4")
    result = load_items([empty, folder / "good.txt"])
    problem = _only_problem(result, level="warning")
    assert problem.path == str(empty) and problem.message.startswith("folder has no input files")


def test_path_that_does_not_exist(folder):
    """A missing path is an error naming it; the good file is still read."""
    result = load_items([folder / "missing.txt", folder / "good.txt"])
    problem = _only_problem(result)
    assert problem.path.endswith("missing.txt") and problem.message == "no such file or folder"


def test_hidden_files_and_unknown_extensions_in_a_folder_are_ignored(folder):
    """Editor backups and dotfiles in an input folder are not inputs."""
    (folder / ".draft.txt").write_text("Hidden\n\nShould never be read as an article.\n", encoding="utf-8")
    (folder / "notes.md").write_text("# notes\n", encoding="utf-8")
    result = load_items([folder])
    assert result.problems == () and len(result.items) == 1


def test_explicit_file_with_unknown_extension_is_sniffed(tmp_path):
    """A feed saved as .dat is read as a feed when named explicitly."""
    feed = tmp_path / "feed.dat"
    shutil.copy(DATA / "blog.atom", feed)
    assert load_items([feed]).items[0].kind == "blog"
