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
    rows = list(csv.DictReader(open(tmp_path / "results.csv")))
    paths = {r["path"] for r in rows}
    assert {"numpy", "brian2_synapses", "hippo_dam_default", "hippo_dam_cpp_standalone"} <= paths
    for r in rows:
        assert float(r["ms_per_step"]) > 0 and float(r["peak_mib"]) > 0
        if r["path"].startswith("numpy"):
            assert float(r["ratio_vs_numpy"]) == 1.0
    assert list(rows[0])[:7] == ["path", "n_features", "n_memories", "dtype", "ms_per_step", "peak_mib",
                                 "ratio_vs_numpy"]
    assert (tmp_path / "bench.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
def test_bench_step_ratio_runs_and_the_two_loops_agree(tmp_path):
    script = SCRIPT.parent / "bench_step_ratio.py"
    proc = subprocess.run([sys.executable, str(script), "--sizes", "64x32", "--blocks", "2", "--steps", "20",
                           "--out", str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    import json

    res = json.loads((tmp_path / "results_step_ratio.json").read_text())
    assert [r["model"] for r in res["runs"]] == ["A", "B"]
    for r in res["runs"]:
        assert len(r["blocks"]) == 2 and r["median_step_ratio"] > 0
        assert r["max_abs_diff_v"] < 1e-8  # Brian2 and the numpy loop integrate the same recall
    assert (tmp_path / "step_ratio.png").read_bytes()[:4] == b"\x89PNG"
    bad = subprocess.run([sys.executable, str(script), "--sizes", "64by32"], capture_output=True, text=True)
    assert bad.returncode != 0 and "--sizes" in bad.stderr


@pytest.mark.slow
def test_bench_threads_runs_and_both_kernels_equal_numpy(tmp_path):
    script = SCRIPT.parent / "bench_threads.py"
    proc = subprocess.run([sys.executable, str(script), "--sizes", "64", "--blocks", "1", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=600)
    if proc.returncode != 0 and "could not build the kernel with OpenMP" in proc.stderr + proc.stdout:
        pytest.skip("no C compiler with OpenMP here")
    assert proc.returncode == 0, proc.stderr[-2000:]
    import json

    res = json.loads((tmp_path / "results_threads.json").read_text())
    (run,) = res["runs"]
    assert set(run["median_us"]) == {"fused x1", "fused x2", "numpy", "fused x1 after numpy", "fused x2 after numpy"}
    assert all(v > 0 for v in run["median_us"].values())  # the script itself checks both kernels against numpy
    assert (tmp_path / "threads.png").read_bytes()[:4] == b"\x89PNG"
