"""The Dense Associative Memory classifier of Krotov & Hopfield (2016): gradient, XOR, digits, errors."""
import warnings

import numpy as np
import pytest

import hippo_dam as hd
from hippo_dam.experiments.classifier import DAMClassifier, digits_dataset, prototype_score
from hippo_dam.figures.duality import XOR_SETTINGS

XOR_X = np.array([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]])
XOR_Y = np.array([0, 1, 1, 0])


def _forward_by_definition(clf, X, memories):
    """c_alpha = tanh(beta sum_mu [F(xi_mu . x_alpha^+) - F(xi_mu . x_alpha^-)]), written out neuron by neuron."""
    C = memories.shape[1] - X.shape[1]
    beta, n = 1.0 / clf.temperature_ ** clf.degree, clf.degree
    F = lambda x: np.maximum(x, 0.0) ** n  # noqa: E731
    out = np.zeros((len(X), C))
    for b, v in enumerate(X):
        for alpha in range(C):
            labels = np.full(C, clf.others)
            labels[alpha] = 1.0
            up = memories @ np.concatenate([v, labels])
            labels[alpha] = -1.0
            down = memories @ np.concatenate([v, labels])
            out[b, alpha] = np.tanh(beta * np.sum(F(up) - F(down)))
    return out


@pytest.mark.parametrize("others", [-1.0, 0.0])
@pytest.mark.parametrize("degree,loss_power", [(2, 1), (3, 2), (5, 1)])
def test_forward_and_gradient_match_definition(others, degree, loss_power):
    rng = np.random.default_rng(3)
    clf = DAMClassifier(n_memories=5, degree=degree, loss_power=loss_power, others=others, temperature=4.0)
    clf.temperature_ = 4.0
    X = rng.uniform(-1, 1, (6, 4))
    targets = np.where(rng.integers(0, 3, 6)[:, None] == np.arange(3)[None], 1.0, -1.0)
    W = rng.uniform(-1, 1, (5, 7))
    np.testing.assert_allclose(clf._forward(X, W)[0], _forward_by_definition(clf, X, W), rtol=1e-12, atol=1e-14)
    loss, grad = clf._loss_grad(X, targets, W)
    c = _forward_by_definition(clf, X, W)
    assert loss == pytest.approx(np.sum((c - targets) ** (2 * loss_power)), rel=1e-12)
    numeric = np.zeros_like(W)
    h = 1e-6
    for idx in np.ndindex(W.shape):
        Wp, Wm = W.copy(), W.copy()
        Wp[idx] += h
        Wm[idx] -= h
        numeric[idx] = (clf._loss_grad(X, targets, Wp)[0] - clf._loss_grad(X, targets, Wm)[0]) / (2 * h)
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-7 * np.abs(grad).max())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_xor_is_solved(seed):
    """XOR is not linearly separable; the DAM with n = 3 classifies all four inputs."""
    clf = DAMClassifier(**dict(XOR_SETTINGS, seed=seed)).fit(XOR_X, XOR_Y)
    assert clf.predict(XOR_X).tolist() == XOR_Y.tolist()
    c = clf.label_activities(XOR_X)
    assert np.all(c[np.arange(4), XOR_Y] > c[np.arange(4), 1 - XOR_Y])


def test_digits_quick_and_prototypes_grow_with_n():
    """A short run on sklearn's 8x8 digits: well above chance; memories more image-like for large n."""
    X_train, X_test, y_train, y_test = digits_dataset(test_size=0.25, seed=0)
    assert X_train.shape == (1347, 64) and X_test.shape == (450, 64) and X_train.min() == -1 and X_train.max() == 1
    settings = dict(n_memories=40, n_epochs=8, batch_size=50, learning_rate=0.02, lr_decay=0.97,
                    temperature_per_neuron=0.7, loss_power=30, seed=0)
    low = DAMClassifier(degree=2, **settings).fit(X_train, y_train, X_test, y_test)
    high = DAMClassifier(degree=20, **settings).fit(X_train, y_train)
    assert low.score(X_test, y_test) > 0.85 and high.score(X_test, y_test) > 0.85
    assert len(low.history_["test_accuracy"]) == 8 and len(low.history_["loss"]) == 8
    assert prototype_score(high.visible_memories, X_train) > prototype_score(low.visible_memories, X_train) + 0.2
    assert np.all(np.abs(high.memories_) <= 1)


def test_prototype_score_limits():
    images = np.random.default_rng(0).uniform(-1, 1, (20, 16))
    assert prototype_score(images[:5], images) == pytest.approx(1.0)
    assert prototype_score(-images[:5], images) < 0.9


def test_bad_input():
    with pytest.raises(ValueError, match="degree n must be >= 2"):
        DAMClassifier(degree=1).fit(XOR_X, XOR_Y)  # scikit-learn: checked in fit
    with pytest.raises(ValueError, match="loss_power m"):
        DAMClassifier(loss_power=0).fit(XOR_X, XOR_Y)  # scikit-learn: checked in fit
    with pytest.raises(ValueError, match="temperature must be > 0"):
        DAMClassifier(temperature=0.0).fit(XOR_X, XOR_Y)  # scikit-learn: checked in fit
    with pytest.raises(ValueError, match=r"visible neurons live in \[-1, 1\]"):
        DAMClassifier().fit(XOR_X * 3, XOR_Y)
    with pytest.raises(ValueError, match="NaN"):
        DAMClassifier().fit(np.where(XOR_X > 0, np.nan, XOR_X), XOR_Y)
    with pytest.raises(ValueError, match="one label per sample"):
        DAMClassifier().fit(XOR_X, XOR_Y[:3])
    with pytest.raises(ValueError, match="at least two classes"):
        DAMClassifier().fit(XOR_X, np.zeros(4))
    with pytest.raises(ValueError, match="not trained"):
        DAMClassifier().predict(XOR_X)
    clf = DAMClassifier(n_memories=2, n_epochs=1, batch_size=4).fit(XOR_X, XOR_Y)
    with pytest.raises(ValueError, match="trained on 2"):
        clf.predict(np.zeros((1, 3)))
    assert hd.DAMClassifier is DAMClassifier


def test_duality_figure_quick(tmp_path):
    """The registered figure runs end to end (tiny settings) and records accuracies, seed and split."""
    import json

    from hippo_dam.figures import figure_function

    path = figure_function("duality")(tmp_path, degrees=(2, 20), settings={"n_memories": 12, "n_epochs": 2}, n_shown=12)
    info = json.loads(path.with_suffix(".json").read_text())
    assert path.exists() and path.stat().st_size > 10_000
    assert set(info["results"]) == {"n=2", "n=20"} and info["seed"] == 0 and info["split"]["random_state"] == 0
    assert all(0 <= r["test_accuracy"] <= 1 and len(r["test_accuracy_per_epoch"]) == 2 for r in info["results"].values())
    assert info["xor"]["correct"] == 4


def test_scikit_learn_estimator_clone_and_grid_search():
    from sklearn.base import clone
    from sklearn.model_selection import GridSearchCV

    clf = hd.DAMClassifier(n_memories=8, degree=3, n_epochs=20, batch_size=4, seed=0)
    copy = clone(clf)
    assert copy.get_params() == clf.get_params() and copy is not clf
    X = np.array([[-1, -1], [-1, 1], [1, -1], [1, 1]] * 3, dtype=float)
    y = np.array([0, 1, 1, 0] * 3)
    search = GridSearchCV(clf, {"degree": [2, 3]}, cv=2).fit(X, y)
    assert search.best_params_["degree"] in (2, 3) and 0 <= search.best_score_ <= 1
    with pytest.raises(ValueError, match="degree"):
        clone(clf).set_params(degree=1).fit(X, y)


def test_scikit_learn_check_estimator():
    """Every applicable check_estimator check passes; the others fail only on X outside [-1, 1].

    Many checks feed random X spanning e.g. [-3, 6]: the visible neurons live
    in [-1, 1], and DAMClassifier refuses such X with a message (it never
    clips silently), so those checks are not applicable.
    """
    import sklearn
    from sklearn.utils.estimator_checks import check_estimator

    if tuple(int(p) for p in sklearn.__version__.split(".")[:2]) < (1, 6):
        pytest.skip(f"check_estimator(on_fail=None) needs scikit-learn >= 1.6, this is {sklearn.__version__}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(hd.DAMClassifier(n_memories=8, n_epochs=3, batch_size=20), on_fail=None)

    def out_of_range(exc):
        while exc is not None:
            if "visible neurons live in [-1, 1]" in str(exc):
                return True
            exc = exc.__cause__ or exc.__context__
        return False

    passed = {r["check_name"] for r in results if r["status"] == "passed"}
    other = [(r["check_name"], str(r["exception"])[:300]) for r in results
             if r["status"] == "failed" and not out_of_range(r["exception"])]
    assert not other, other
    # the input-validation checks that apply to any classifier are among those that pass
    assert {"check_estimators_unfitted", "check_complex_data", "check_estimators_empty_data_messages",
            "check_estimator_sparse_array", "check_classifiers_regression_target", "check_supervised_y_2d",
            "check_requires_y_none", "check_estimators_nan_inf", "check_get_params_invariance",
            "check_set_params", "check_no_attributes_set_in_init"} <= passed
