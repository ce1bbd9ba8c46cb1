"""A Dense Associative Memory used as a classifier (Krotov & Hopfield, NeurIPS 2016).

The network has ``N`` visible (feature) neurons ``v_i`` and ``C`` label
(classification) neurons ``c_alpha``. Each of the ``K`` memories is one vector
``xi_mu`` over all ``N + C`` neurons; the energy is ``E = -sum_mu F(xi_mu . x)``
with the rectified polynomial ``F(x) = max(x, 0)^n``.

Classification clamps the visible neurons to the image and asks each label
neuron how much flipping it from off (-1) to on (+1) lowers the energy, with
the other label neurons held at ``others`` (-1, "off", in the authors'
published code; 0 gives the form ``F(xi_mu . v +- xi_mu,alpha)``). One step of
the paper's update (its eq. 9), with ``beta = 1 / T^n``::

    B_mu,alpha = sum_i xi_mu,i v_i + others * sum_{gamma != alpha} xi_mu,gamma
    c_alpha    = tanh( beta sum_mu [ F(B_mu,alpha + xi_mu,alpha) - F(B_mu,alpha - xi_mu,alpha) ] )

Training (what is implemented here, after the paper's Sec. 3 and Appendix A):
minibatch gradient descent on ``L = sum_samples sum_alpha (c_alpha - t_alpha)^(2m)``
(targets ``t = +1`` for the true class, -1 otherwise; ``m = 1`` is the plain
squared error) with momentum ``p``, the update of each memory rescaled so its
largest entry moves by the learning rate ``eps`` (annealed as
``eps0 * decay^epoch``), and the memories clipped to ``[-1, 1]``. Initial
memories are Gaussian (mean -0.3, std 0.3 by default, as in the paper).

The duality of the paper: with a small power ``n`` the memories learn
*features* (the class is decided by many memories together), with a large
``n`` they become *prototypes* (each looks like one image of one class),
because only the memories closest to an input contribute to ``F``.
"""
from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from ..checks import check_number

__all__ = ["DAMClassifier", "digits_dataset", "prototype_score"]


def _check_inputs(X, n_features=None):
    """scikit-learn's input checks (2-D, finite, real, dense), then the visible neurons' range."""
    from sklearn.utils.validation import check_array

    try:
        X = check_array(X, dtype=float, accept_sparse=False, ensure_all_finite=True)
    except TypeError as err:
        if "ensure_all_finite" not in str(err):
            raise
        X = check_array(X, dtype=float, accept_sparse=False, force_all_finite=True)  # scikit-learn < 1.6
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(f"X has {X.shape[1]} features, but DAMClassifier is expecting {n_features} features "
                         f"as input (the classifier was trained on {n_features})")
    if X.min() < -1 - 1e-12 or X.max() > 1 + 1e-12:
        raise ValueError(f"visible neurons live in [-1, 1]; X spans [{X.min():g}, {X.max():g}] (rescale it)")
    return X


class DAMClassifier(ClassifierMixin, BaseEstimator):
    """Dense Associative Memory classifier with ``F(x) = max(x,0)^n`` (Krotov & Hopfield 2016).

    Parameters
    ----------
    n_memories : int
        ``K``, number of memories.
    degree : float
        ``n``, power of the rectified polynomial (>= 2).
    temperature : float, optional
        ``T`` in ``beta = 1/T^n`` (dimensionless, on the scale of ``xi . x``);
        default: see ``temperature_per_neuron``.
    temperature_per_neuron : float
        Used when ``temperature`` is None: ``T = temperature_per_neuron * (N + C)``
        (the authors used T = 540 for N + C = 794 at n = 2, i.e. about 0.68).
    loss_power : int
        ``m`` in the loss ``(c - t)^(2m)`` (1: squared error).
    n_epochs, batch_size : int
    learning_rate, lr_decay, momentum : float
        ``eps0``, the factor per epoch, and ``p``.
    init_mean, init_std : float
        Gaussian initial memories (clipped to [-1, 1]).
    others : float
        State of the label neurons not being asked (-1: off, the authors' code; 0: absent).
    seed : int
        Seed of the initial memories and minibatch order.
    """

    def __init__(self, n_memories=100, degree=3.0, temperature=None, temperature_per_neuron=0.5, loss_power=30,
                 n_epochs=300, batch_size=100, learning_rate=0.04, lr_decay=0.998, momentum=0.6, init_mean=-0.3,
                 init_std=0.3, others=-1.0, seed=0):
        # scikit-learn convention: the parameters are stored as given and checked in fit
        self.n_memories, self.degree, self.temperature = n_memories, degree, temperature
        self.temperature_per_neuron, self.loss_power, self.n_epochs = temperature_per_neuron, loss_power, n_epochs
        self.batch_size, self.learning_rate, self.lr_decay = batch_size, learning_rate, lr_decay
        self.momentum, self.init_mean, self.init_std, self.others, self.seed = momentum, init_mean, init_std, others, seed

    def _check_params(self):
        """Raise naming the first hyperparameter out of range (called by fit, the scikit-learn convention).

        ``TypeError`` for a value that is not a real number (a bool is not one),
        ``ValueError`` for NaN, inf, a fraction where a count is needed, or a
        value outside its range.
        """
        check_number("n_memories", self.n_memories, low=1, integer=True)
        check_number("degree", self.degree, low=2, what="degree n", why=" (F = max(x,0)^n)")
        check_number("loss_power", self.loss_power, low=1, integer=True, what="loss_power m",
                      why=" (the loss is (c - t)^(2m))")
        if self.temperature is not None:
            check_number("temperature", self.temperature, low=0, low_open=True)
        check_number("temperature_per_neuron", self.temperature_per_neuron, low=0, low_open=True)
        check_number("n_epochs", self.n_epochs, low=1, integer=True)
        check_number("batch_size", self.batch_size, low=1, integer=True)
        check_number("learning_rate", self.learning_rate, low=0, low_open=True)
        check_number("lr_decay", self.lr_decay, low=0, low_open=True)
        check_number("momentum", self.momentum, low=0, high=1, high_open=True)
        check_number("init_mean", self.init_mean)
        check_number("init_std", self.init_std, low=0)
        check_number("others", self.others, low=-1, high=1, why=" (a label neuron's state)")
        if isinstance(self.seed, (bool, np.bool_, numbers.Number)):  # (None or a Generator are seeds too)
            check_number("seed", self.seed, low=0, integer=True)

    # -- the network -----------------------------------------------------------
    def _forward(self, X, memories):
        """Label activities ``c`` (B, C) and the scaled arguments ``P = (B+xi)_+/T``, ``M = (B-xi)_+/T``."""
        N = X.shape[1]
        vis, lab = memories[:, :N], memories[:, N:]                       # (K, N), (K, C)
        base = X @ vis.T                                                  # (B, K)
        B = base[:, :, None] + self.others * (lab.sum(1)[None, :, None] - lab[None])   # (B, K, C)
        T = self.temperature_
        P = np.maximum(B + lab[None], 0.0) / T
        M = np.maximum(B - lab[None], 0.0) / T
        Pn1, Mn1 = P ** (self.degree - 1), M ** (self.degree - 1)          # reused by the gradient
        D = (Pn1 * P - Mn1 * M).sum(axis=1)                               # beta * sum_mu [F(+) - F(-)]
        return np.tanh(D), Pn1, Mn1

    def _loss_grad(self, X, targets, memories):
        """Loss ``sum (c - t)^(2m)`` and its gradient with respect to the memories (K, N + C)."""
        c, Pn1, Mn1 = self._forward(X, memories)
        m, n, T = int(self.loss_power), float(self.degree), self.temperature_
        err = c - targets
        loss = float(np.sum(err ** (2 * m)))
        G = 2 * m * err ** (2 * m - 1) * (1 - c ** 2)                     # dL/dD, (B, C)
        Gp = G[:, None, :] * (n / T) * Pn1                                # dL/dB through F(B + xi)
        Gm = G[:, None, :] * (n / T) * Mn1                                # ... through F(B - xi)
        delta = Gp - Gm                                                   # dL/dB_mu,alpha  (B, K, C)
        g_vis = np.einsum("bkc,bi->ki", delta, X)
        g_lab = (Gp + Gm).sum(0) + self.others * (delta.sum(axis=(0, 2))[:, None] - delta.sum(0))
        return loss, np.concatenate([g_vis, g_lab], axis=1)

    # -- training ----------------------------------------------------------------
    def fit(self, X, y, X_test=None, y_test=None):
        """Train the memories on images ``X`` (samples x N, entries in [-1, 1]) and labels ``y``.

        Records ``history_`` (per epoch: the loss summed over minibatches and,
        if ``X_test`` is given, the test accuracy). Returns self.
        """
        from sklearn.utils.multiclass import check_classification_targets
        from sklearn.utils.validation import column_or_1d

        self._check_params()
        if y is None:
            raise ValueError("DAMClassifier requires y to be passed, but the target y is None")
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        X = _check_inputs(X)
        if y.shape != (X.shape[0],):
            raise ValueError(f"y must have one label per sample ({X.shape[0]}), got shape {y.shape}")
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise ValueError("need at least two classes")
        N, C = X.shape[1], len(self.classes_)
        self.n_features_ = self.n_features_in_ = N
        self.temperature_ = self.temperature if self.temperature is not None else self.temperature_per_neuron * (N + C)
        targets = np.where(y[:, None] == self.classes_[None, :], 1.0, -1.0)
        rng = np.random.default_rng(self.seed)
        memories = np.clip(rng.normal(self.init_mean, self.init_std, (int(self.n_memories), N + C)), -1, 1)
        velocity = np.zeros_like(memories)
        self.history_ = {"loss": [], "test_accuracy": []}
        for epoch in range(int(self.n_epochs)):
            eps = self.learning_rate * self.lr_decay ** epoch
            order = rng.permutation(len(X))
            loss = 0.0
            batch = int(self.batch_size)
            for start in range(0, len(X), batch):
                idx = order[start:start + batch]
                batch_loss, grad = self._loss_grad(X[idx], targets[idx], memories)
                loss += batch_loss
                velocity = self.momentum * velocity - grad
                # Each memory moves by at most eps in its largest entry (the paper's normalised update).
                scale = np.maximum(np.abs(velocity).max(axis=1, keepdims=True), 1e-30)
                memories = np.clip(memories + eps * velocity / scale, -1.0, 1.0)
            self.memories_ = memories
            self.history_["loss"].append(loss)
            if X_test is not None:
                self.history_["test_accuracy"].append(self.score(X_test, y_test))
        self.memories_ = memories
        return self

    # -- using it -------------------------------------------------------------------
    def label_activities(self, X):
        """``c_alpha`` in (-1, 1) for every sample (samples x classes)."""
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "memories_", msg="the classifier is not trained yet: call fit first (%(name)s)")
        X = _check_inputs(X, self.n_features_)
        return self._forward(X, self.memories_)[0]

    def predict(self, X):
        """The class whose label neuron is most active."""
        c = self.label_activities(X)
        return self.classes_[np.argmax(c, axis=1)]

    def score(self, X, y):
        """Fraction of samples classified correctly."""
        return float(np.mean(self.predict(X) == np.asarray(y)))

    @property
    def visible_memories(self):
        """The memories' visible part (K, N): images, for image data."""
        return self.memories_[:, :self.n_features_]

    @property
    def label_memories(self):
        """The memories' label part (K, C)."""
        return self.memories_[:, self.n_features_:]


def prototype_score(memories, images):
    """Mean over memories of the largest Pearson correlation with any image.

    Near 1 when every memory looks like one stored image (prototype regime),
    lower when memories are parts or features of images.
    """
    a = np.asarray(memories, float)
    b = np.asarray(images, float)
    a = (a - a.mean(1, keepdims=True)) / np.maximum(a.std(1, keepdims=True), 1e-12)
    b = (b - b.mean(1, keepdims=True)) / np.maximum(b.std(1, keepdims=True), 1e-12)
    return float(np.mean(np.max(a @ b.T / a.shape[1], axis=1)))


def digits_dataset(test_size=0.25, seed=0):
    """scikit-learn's 8x8 digits rescaled to [-1, 1] (``2 x / 16 - 1``), split stratified.

    Returns ``X_train, X_test, y_train, y_test`` (1797 images of 64 pixels).
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    X = 2.0 * data.data / 16.0 - 1.0
    return train_test_split(X, data.target, test_size=test_size, random_state=seed, stratify=data.target)
