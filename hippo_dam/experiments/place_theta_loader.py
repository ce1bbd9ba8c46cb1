"""Theta model files: ``[model] kind = "place_theta"`` (see ``models/place_theta.toml``).

Tables::

    [model]        kind = "place_theta", name, description
    [place_theta]  any key of hippo_dam.experiments.place_theta.PLACE_THETA_SETTINGS (numbers, units in the names)
    [run]          codegen_target ('cython' or 'numpy')

``hippo-dam run models/place_theta.toml`` learns one room's map, runs it as
rate and spiking CA3 cells under theta and writes ``<name>.json`` (ISI CV,
phase-precession fits with and without the sweep, both versions' decoding
errors, peak rates), ``<name>.png`` and ``<name>.nwb`` (the test: position,
rates, spikes). Unknown tables or keys are errors naming them.
"""
from __future__ import annotations

from .experiment_model import ExperimentKind, ExperimentModelFile
from .place_theta import PLACE_THETA_SETTINGS, _check_settings

__all__ = ["PLACE_THETA_KIND", "load_place_theta_model"]


def _experiment(settings, **kwargs):
    from .place_theta import place_theta_experiment

    return place_theta_experiment(settings, keep_session=True, **kwargs)


def _nwb(out, folder, name):
    from .place_theta import place_theta_to_nwb

    return [place_theta_to_nwb(out, folder / f"{name}.nwb")]


def _plot(out, path):
    from ..plotting import plot_place_theta

    return plot_place_theta(out, path)


def _session(settings):
    from .place_theta import place_theta_session

    return place_theta_session(settings, weights="initial")  # the network without learning: nothing runs


def _summary(out):
    s, sp, dec = out["settings"], out["spiking"], out["decoding"]["test"]
    pp, base = out["precession"]["test"]["pooled"], out["precession"]["no_sweep"]["pooled"]
    return [f"network          {out['n_features']} EC cells -> {out['n_ca3']} CA3 cells, rate and noisy LIF versions "
            f"of one learned map, {s['theta_hz']:g} Hz theta, {s['sweep_cm']:g} cm look-ahead sweep",
            f"spiking cells    active {sp['fraction_active']:.2f}, in-field peak {sp['peak_rate_Hz_median']:.1f} Hz "
            f"(median), mean rate {sp['mean_rate_Hz']:.2f} Hz, ISI CV {out['isi_cv']['test']['median']:.2f} "
            f"(CV2 {out['isi_cv']['test']['cv2_median']:.2f})",
            f"phase precession {pp['slope_deg_per_field']:.0f} deg/field (rho {pp['rho']:.2f}, p {pp['p']:.1g}); "
            f"without the sweep {base['slope_deg_per_field']:.0f} deg/field (rho {base['rho']:.2f}, p {base['p']:.1g})",
            f"decoding         rate {dec['rate']['median_cm']:.1f} cm, spiking {dec['spiking']['median_cm']:.1f} cm "
            f"(x{dec['spiking_over_rate']:.2f}), {s['decode_window_ms']:g} ms windows",
            f"  Bayesian       rate {dec['rate']['bayes_median_cm']:.1f} cm, spiking "
            f"{dec['spiking']['bayes_median_cm']:.1f} cm (x{dec['spiking_over_rate_bayes']:.2f}), Poisson cells"]


PLACE_THETA_KIND = ExperimentKind("place_theta", "place_theta", PLACE_THETA_SETTINGS, _check_settings, _experiment,
                                  _plot, _summary, extra=_nwb, session=_session)


def load_place_theta_model(path, cfg=None) -> ExperimentModelFile:
    """Load a ``kind = "place_theta"`` model file (module docstring); every value checked before any run."""
    return PLACE_THETA_KIND.load(path, cfg)
