"""The benchmark script runs end to end (quick sizes) and writes its outputs."""
import csv
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_core.py"


@pytest.mark.slow
def test_bench_core_quick(tmp_path):
    proc = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = list(csv.DictReader(open(tmp_path / "results_core.csv")))
    paths = {r["path"] for r in rows}
    assert {"numpy", "brian2_cython"} <= paths
    for r in rows:
        assert float(r["ms_per_step"]) > 0 and float(r["peak_mib"]) > 0
        if r["path"].startswith("numpy"):
            assert float(r["ratio_vs_numpy"]) == 1.0
    assert (tmp_path / "bench_core.png").read_bytes()[:4] == b"\x89PNG"
