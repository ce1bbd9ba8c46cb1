"""Capacity: per-point measurement, search, theory and exponents (small and fast; slow marks for the claims)."""
import numpy as np
import pytest

import hippo_dam as hd
from hippo_dam import capacity as cap


def test_capacity_point_returns_scalars_and_is_reproducible():
    r = cap.capacity_point("power", 60, 40, seed=3, degree=3, n_probe=100)
    assert set(r) >= {"success", "n_success", "n_probed", "mean_overlap", "bit_error", "load", "converged"}
    assert all(np.isscalar(v) for v in r.values())
    assert r["n_probed"] == 100 and r["n_sets"] == 3 and r["load"] == 40 / 60
    assert r == cap.capacity_point("power", 60, 40, seed=3, degree=3, n_probe=100)


def test_capacity_point_extremes():
    # one pattern is always stable and retrieved; 3N patterns of a classical net never are
    assert cap.capacity_point("classical", 50, 1, 0)["success"] == 1.0
    assert cap.capacity_point("classical", 50, 1, 0, criterion="retrieval", flip=0.2)["success"] == 1.0
    assert cap.capacity_point("classical", 100, 300, 0)["success"] == 0.0
    r = cap.capacity_point("exp", 40, 100, 0, criterion="retrieval", flip=0.1, n_probe=50)
    assert r["success"] == 1.0 and r["converged"] == 1.0


def test_stable_success_matches_direct_dynamics():
    # 'stable' = one asynchronous update from the pattern keeps every bit
    xi = hd.random_patterns(30, 40, seed=np.random.default_rng([5, 40, 30]))
    D = hd.dam_stability_margins(xi, np.arange(30), "power", 3)
    for nu in range(5):
        m = hd.dam_flip_margins(xi, xi[nu], "power", 3)
        assert np.array_equal(np.where(m > 0, 1.0, np.where(m < 0, -1.0, xi[nu])) == xi[nu], D[nu] >= 0)


def test_capacity_point_bad_input():
    with pytest.raises(ValueError, match="unknown capacity model"):
        cap.capacity_point("quartic", 10, 2, 0)
    with pytest.raises(ValueError, match="flip must be 0"):
        cap.capacity_point("classical", 10, 2, 0, flip=0.1)
    with pytest.raises(ValueError, match="degree"):
        cap.capacity_point("power", 10, 2, 0, degree=1)
    with pytest.raises(ValueError, match="K >= 1"):
        cap.capacity_point("power", 10, 0, 0)


def test_theory_values():
    n = np.array([100.0, 1000.0])
    assert np.allclose(cap.capacity_theory("classical", n), n / (2 * np.log(n)))
    assert np.allclose(cap.capacity_theory("power", n, degree=4), n**3 / (2 * 15 * np.log(n)))
    assert np.allclose(cap.capacity_theory("classical", n, "retrieval"), 0.138 * n)
    assert np.allclose(cap.capacity_theory("power", n, degree=3, n_hidden=500), [100**2 / (6 * np.log(100)), 500])
    z = cap.z_score_99(np.array([1e2, 1e6, 1e12]))
    ratio = z**2 / (2 * np.log([1e2, 1e6, 1e12]))
    assert np.all(np.diff(ratio) < 0) and np.all(ratio > 1) and ratio[-1] < 1.1  # z^2 / 2 ln N -> 1 from above
    assert np.isclose(100 * (0.5 * (1 + __import__("math").erf(-z[0] / 2**0.5))), -np.log(0.99))


def test_search_finds_the_99_percent_point_and_fit_is_exact_on_power_laws():
    res = cap.capacity_search("power", [40, 80], degree=3, n_probe=200)
    for n, r in res.items():
        assert r["scan"][r["capacity"]] >= 0.99 > r["scan"][r["k_fail"]]
        assert all(s >= 0.99 for k, s in r["scan"].items() if k <= r["capacity"])
    n = np.array([50, 100, 200, 400])
    assert np.isclose(cap.fit_exponent(n, 3 * n**2.0)[0], 2.0)
    assert np.isclose(cap.fit_exponent(n, n**2.0 / (2 * np.log(n)), "lnN")[0], 2.0)


def test_capacity_exponent_x3_small():
    """F = x^3: K (z^2 corrected) scales as N^2 already on N = 40..160 (fast version of the slow test)."""
    ns = [40, 80, 160]
    c = cap.capacity_curve("power", ns, degree=3, n_probe=300)
    slope = cap.fit_exponent(c["n_features"], c["capacity"], "z2")[0]
    assert abs(slope - 2) < 0.2, (c["capacity"], slope)


@pytest.mark.slow
@pytest.mark.parametrize("degree,ns", [(2, [100, 200, 400, 800, 1600]), (3, [50, 100, 200, 400]),
                                       (4, [30, 45, 60, 90, 120])])
def test_capacity_exponent_power(degree, ns):
    """F = x^n: fitted exponent of K 2 ln N within 10% of n - 1."""
    c = cap.capacity_curve("power", ns, degree=degree, n_probe=500)
    slope = cap.fit_exponent(c["n_features"], c["capacity"], "lnN")[0]
    assert abs(slope - (degree - 1)) < 0.1 * (degree - 1), (c["capacity"], slope)


@pytest.mark.slow
def test_classical_retrieval_capacity_near_0138():
    """Classical net, AGS retrieval (overlap >= 0.9 after convergence, 99% of patterns): within 10% of
    0.138 N at N = 2000 (it approaches from below: ~0.116 N at N = 500)."""
    res = cap.capacity_search("classical", [2000], criterion="retrieval", min_overlap=0.9, n_probe=500,
                              coarse=np.geomspace(0.7, 1.4, 5))
    k = res[2000]["capacity"]
    assert abs(k / 2000 - 0.138) < 0.1 * 0.138, k


@pytest.mark.slow
def test_exp_capacity_super_polynomial():
    c = cap.capacity_curve("exp", [14, 17, 20, 23], n_probe=500)
    slopes = [cap.fit_exponent(c["n_features"][i:i + 2], c["capacity"][i:i + 2])[0] for i in range(3)]
    assert min(slopes) > 5 and np.polyfit(c["n_features"], np.log2(c["capacity"]), 1)[0] > 0.5


def test_capacity_figure_small(tmp_path):
    """The figure function end to end at tiny sizes, through run_sweep (one Dask worker)."""
    import json

    from hippo_dam.figures.capacity import capacity

    curves = {"F = x^2": ({"model": "power", "degree": 2}, [40, 80]),
              "F = x^3": ({"model": "power", "degree": 3}, [30, 60]),
              "classical retrieval": ({"model": "classical", "criterion": "retrieval", "min_overlap": 0.9}, [100, 200]),
              "F = exp": ({"model": "exp"}, [12, 15])}
    path = capacity(tmp_path, n_probe=100, curves=curves, n_hidden=100)
    data = json.loads(path.with_suffix(".json").read_text())
    assert path.exists() and data["engine"] == "run_sweep"
    for label, r in data["results"].items():
        assert all(c >= 1 for c in r["capacity"]) and "fit" in r
    # the same points without the sweep engine give the same capacities
    direct = cap.capacity_search("power", [40, 80], degree=3 - 1, n_probe=100)
    assert [direct[n]["capacity"] for n in (40, 80)] == data["results"]["F = x^2"]["capacity"]


def test_capacity_search_loads_no_brian2_and_takes_any_map():
    """theory/ is numpy only: a capacity search in a fresh process imports neither Brian2 nor the sweep engine."""
    import subprocess
    import sys

    code = ("import sys\nfrom hippo_dam.theory.capacity import capacity_search\n"
            "r = capacity_search('power', [40], degree=3, n_probe=50)\n"
            "print(r[40]['capacity'], sorted(m for m in ('brian2', 'dask', 'distributed', 'xarray', "
            "'hippo_dam.sweeps') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[1:] == ["[]"], out.stdout
    calls = []

    def counting_map(function, points):
        calls.extend(points)
        return [function(**p) for p in points]

    res = cap.capacity_search("power", [40], degree=3, n_probe=50, map=counting_map)
    assert res[40]["capacity"] == int(out.stdout.split()[0]) and calls and all(c["n_features"] == 40 for c in calls)
    with pytest.raises(TypeError, match="no longer takes use_sweep: pass map=hippo_dam.sweep_map"):
        cap.capacity_search("power", [40], degree=3, use_sweep=True)
    with pytest.raises(TypeError, match="map must be a callable"):
        cap.capacity_search("power", [40], degree=3, map=[])
    with pytest.raises(ValueError, match="map returned 0 results for"):
        cap.capacity_search("power", [40], degree=3, map=lambda f, points: [])
