"""The Sphinx site builds with warnings as errors, and {measured} reads recorded result files."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "docs" / "_ext"))


def test_docs_build_without_warnings(tmp_path):
    pytest.importorskip("sphinx")
    pytest.importorskip("myst_parser")
    out = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-j", "1", "-q", "-b", "html",
                          "-d", str(tmp_path / "doctrees"), str(ROOT / "docs"), str(tmp_path / "html")],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    for page in sorted((tmp_path / "html").glob("*.html")):  # a role cut by a table's '|' stays as raw text
        assert "{measured}" not in page.read_text(), f"{page.name}: write '|' as '\\|' in a table row"
    index = (tmp_path / "html" / "index.html").read_text()
    for page in sorted((ROOT / "docs").glob("*.md")):  # the glob toctree lists every page
        if page.stem != "index":
            assert f'href="{page.stem}.html"' in index, page.name
    api = (tmp_path / "html" / "api.html").read_text()
    import hippo_dam

    for name in hippo_dam.__all__:
        assert f'id="hippo_dam.{name}"' in api, name


def test_measured_role_reads_json_and_csv(tmp_path):
    pytest.importorskip("sphinx")
    from measured import measured_value
    from sphinx.errors import ExtensionError

    (tmp_path / "r.json").write_text(json.dumps({"a": {"rows": [{"x": 0.12345}], "n": 3, "grid": [1, 2.5]},
                                                 "errors": {"0.1": 0.5, "gain a = 1.5": {"n": 7}},
                                                 "same": {"b": {"c": 1}, "b.c": 2}}))
    (tmp_path / "t.csv").write_text("name,value\nfirst,1.5\nsecond,2.25\n")
    assert measured_value("r.json:a.rows.0.x|.2f", tmp_path) == "0.12"
    assert measured_value("r.json:a.n", tmp_path) == "3"
    assert measured_value("r.json:a.grid|.1f", tmp_path) == "1.0, 2.5"  # a list of values: a parameter grid
    assert measured_value("r.json:errors.0.1|.2f", tmp_path) == "0.50"  # keys that hold dots match whole
    assert measured_value("r.json:errors.gain a = 1.5.n", tmp_path) == "7"
    assert measured_value("t.csv:1.value|.1f", tmp_path) == "2.2"
    assert measured_value("t.csv:0.name", tmp_path) == "first"
    for spec, message in (("missing.json:a", "no file 'missing.json'"), ("r.json:a.nope", "no key 'nope'"),
                          ("r.json:a.rows.3.x", "no index '3'"), ("r.json:a", "is a table"),
                          ("t.csv:0.other", "no column 'other'"), ("t.csv:9.value", "has 2 rows"),
                          ("r.json", "expected <path>:<key.path>"), ("r.json:same.b.c", "ambiguous"),
                          ("r.json:errors.0.2", "no key '0'")):
        with pytest.raises(ExtensionError, match=message.replace("(", r"\(")):
            measured_value(spec, tmp_path)


def test_add_your_own_circuit_example_runs_and_gives_the_recorded_numbers(tmp_path):
    """The page's code (docs/examples/ec_dg_ca3.py, included whole) runs and gives the numbers the page quotes."""
    script = ROOT / "docs" / "examples" / "ec_dg_ca3.py"
    assert len(script.read_text().splitlines()) <= 60
    assert "literalinclude} examples/ec_dg_ca3.py" in (ROOT / "docs" / "add_your_own_circuit.md").read_text()
    out = subprocess.run([sys.executable, str(script), str(tmp_path)], capture_output=True, text=True, timeout=900,
                         cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    got = json.loads((tmp_path / "ec_dg_ca3.json").read_text())
    recorded = json.loads((script.parent / "ec_dg_ca3.json").read_text())

    def flat(d, prefix=""):
        for k, v in d.items():
            yield from (flat(v, prefix + k + ".") if isinstance(v, dict) else [(prefix + k, v)])

    for key, value in flat(recorded):
        assert abs(dict(flat(got))[key] - value) <= 1e-9 * max(1.0, abs(value)), key
    assert (tmp_path / "ec_dg_ca3.png").stat().st_size > 10_000
    # what the page says: the energy falls overall; the DG detour retrieves more than the cut circuit
    for label in ("with_DG", "DG_cut"):
        assert got[label]["energy_end"] < got[label]["energy_start"]
    assert got["with_DG"]["success"] > got["DG_cut"]["success"]


def _python_blocks(page):
    """The page's ```python blocks, without those marked ``<!-- not run by the suite: why -->`` just above."""
    import re

    text = page.read_text()
    blocks = []
    for match in re.finditer(r"```python\n(.*?)```", text, flags=re.S):
        before = text[:match.start()].rstrip().splitlines()[-1:] or [""]
        if before[0].startswith("<!-- not run by the suite:"):
            assert len(before[0]) > 40, f"{page.name}: say why a block is not run"
            continue
        blocks.append(match.group(1))
    return blocks


PAGES_WITH_CODE = sorted(p.name for p in (ROOT / "docs").glob("*.md") if _python_blocks(p))


@pytest.mark.parametrize("page", PAGES_WITH_CODE)
def test_every_python_example_of_a_page_runs(page, tmp_path):
    """A page's Python examples, run in order as one script (from a folder holding models/ and sweeps/)."""
    for folder in ("models", "sweeps"):
        (tmp_path / folder).symlink_to(ROOT / folder)
    script = tmp_path / "page.py"
    script.write_text("\n".join(_python_blocks(ROOT / "docs" / page)))
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=900, cwd=tmp_path)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]


def test_the_pages_with_examples_are_found():
    assert {"models.md", "circuits.md", "hierarchy.md", "kanji6355.md", "slurm.md", "sweeps.md"} <= set(PAGES_WITH_CODE)
