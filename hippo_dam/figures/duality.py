"""Features vs prototypes: the DAM classifier's memories on 8x8 digits as the power n grows."""
from __future__ import annotations

import json
import time
from pathlib import Path

from ._common import _versions


# Settings of the duality figure (Krotov & Hopfield 2016, Fig. 2/3 on sklearn's 8x8 digits):
# T = temperature_per_neuron * (N + C) with N + C = 74, loss power m = 30 as in the authors' code.
DUALITY_SETTINGS = {"n_memories": 100, "n_epochs": 60, "batch_size": 50, "learning_rate": 0.02, "lr_decay": 0.97,
                    "momentum": 0.6, "loss_power": 30, "temperature_per_neuron": 0.7, "init_mean": -0.3,
                    "init_std": 0.3, "others": -1.0}


DUALITY_DEGREES = (2, 3, 20, 30)


XOR_SETTINGS = {"n_memories": 8, "degree": 3, "n_epochs": 200, "batch_size": 4, "loss_power": 30,
                "init_mean": -0.3, "init_std": 0.3, "seed": 0}


def duality(outdir="figures", degrees=DUALITY_DEGREES, seed=0, split_seed=0, test_size=0.25, settings=None,
            n_shown=30):
    """Features vs prototypes: memories of a DAM classifier on 8x8 digits for growing power n.

    Trains :class:`hippo_dam.experiments.classifier.DAMClassifier` (``F = max(x,0)^n``) on
    scikit-learn's digits for each ``n`` in ``degrees`` and draws the first
    ``n_shown`` memories' visible parts as 8x8 images (sorted by the class their
    label part votes for), with the test accuracy per epoch. Also records XOR.
    """
    from ..plotting import _figure_files as plt  # no matplotlib.use: Figure objects written to files
    import numpy as np

    from ..experiments.classifier import DAMClassifier, digits_dataset, prototype_score

    cfg = dict(DUALITY_SETTINGS, **(settings or {}))
    X_train, X_test, y_train, y_test = digits_dataset(test_size=test_size, seed=split_seed)
    init = np.clip(np.random.default_rng(seed).normal(cfg["init_mean"], cfg["init_std"], (cfg["n_memories"], 64)),
                   -1, 1)
    results, models = {}, {}
    for n in degrees:
        start = time.perf_counter()
        clf = DAMClassifier(degree=n, seed=seed, **cfg).fit(X_train, y_train, X_test, y_test)
        models[n] = clf
        results[f"n={n}"] = {
            "degree": n, "temperature": clf.temperature_,
            "train_accuracy": clf.score(X_train, y_train), "test_accuracy": clf.score(X_test, y_test),
            "test_accuracy_per_epoch": [round(a, 4) for a in clf.history_["test_accuracy"]],
            "prototype_score": prototype_score(clf.visible_memories, X_train),
            "training_time_s": time.perf_counter() - start,
        }
    xor_X = np.array([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]])
    xor_y = np.array([0, 1, 1, 0])
    xor = DAMClassifier(**XOR_SETTINGS).fit(xor_X, xor_y)

    cols = 6
    rows = int(np.ceil(n_shown / cols))
    fig = plt.figure(figsize=(3.0 * len(degrees) + 3.8, 4.4), constrained_layout=True)
    grid = fig.add_gridspec(1, len(degrees) + 1, width_ratios=[1] * len(degrees) + [1.25])
    for k, n in enumerate(degrees):
        clf = models[n]
        order = np.argsort(np.argmax(clf.label_memories[:n_shown], axis=1), kind="stable")
        mem = clf.visible_memories[:n_shown][order]
        tiles = np.full((rows * 9 - 1, cols * 9 - 1), np.nan)
        for j, m in enumerate(mem):
            r, c = divmod(j, cols)
            tiles[r * 9:r * 9 + 8, c * 9:c * 9 + 8] = m.reshape(8, 8)
        ax = fig.add_subplot(grid[0, k])
        cmap = plt.get_cmap("bwr").copy()
        cmap.set_bad("white")
        ax.imshow(tiles, cmap=cmap, vmin=-1, vmax=1, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        res = results[f"n={n}"]
        ax.set_title(f"n = {n}: test accuracy {res['test_accuracy']:.3f}\nprototype score {res['prototype_score']:.2f}",
                     fontsize=10)
        if k == 0:
            ax.set_ylabel(f"first {n_shown} of {cfg['n_memories']} memories, 8x8 visible part\n"
                          "(red +1, blue -1; sorted by the class they vote for)", fontsize=9)
    ax = fig.add_subplot(grid[0, -1])
    for n in degrees:
        acc = results[f"n={n}"]["test_accuracy_per_epoch"]
        ax.plot(np.arange(1, len(acc) + 1), acc, label=f"n = {n}")
    ax.set_xlabel("epoch")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0.8, 1.0)
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    fig.suptitle("Dense Associative Memory classifier, F(x) = max(x,0)^n, on 8x8 digits: "
                 "features (small n) vs prototypes (large n)", fontsize=11)
    path = Path(outdir) / "duality.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    inputs = {
        "figure": path.name, "function": "hippo_dam.figures.duality.duality",
        "paper": "Krotov & Hopfield 2016, Dense Associative Memory for Pattern Recognition, Fig. 2/3",
        "dataset": "sklearn.datasets.load_digits, pixels rescaled to 2 x / 16 - 1",
        "split": {"function": "sklearn.model_selection.train_test_split", "test_size": test_size,
                  "random_state": split_seed, "stratify": "labels", "n_train": len(X_train), "n_test": len(X_test)},
        "seed": seed, "degrees": list(degrees), "settings": cfg,
        "loss": "sum over samples and classes of (c_alpha - t_alpha)^(2m), t = +-1",
        "prototype_score": "mean over memories of the largest Pearson correlation with a training image",
        "prototype_score_of_initial_memories": prototype_score(init, X_train),
        "results": results,
        "xor": {"settings": XOR_SETTINGS, "predictions": xor.predict(xor_X).tolist(), "targets": xor_y.tolist(),
                "correct": int(np.sum(xor.predict(xor_X) == xor_y))},
        "versions": _versions(),
    }
    path.with_suffix(".json").write_text(json.dumps(inputs, indent=2) + "\n")
    return path
