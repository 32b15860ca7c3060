"""Check the difficulty ladder of the embedded dataset (course_utils.synthetic).

The embedded dataset stands in for CIFAR-10, so the models of the course must
rank on it as they do on CIFAR-10. One run generates the dataset (and times
it), trains the reference models of bench/ladder_models.py and checks:

1. a softmax classifier on raw pixels reaches between 30% and 60% test accuracy;
2. a two-layer net on HoG + colour-histogram features beats it by >= 5 points;
3. a small ConvNet beats the two-layer net by >= 5 points;
4. on every colour class a colour-histogram-only linear classifier beats a
   HoG-only one, and on every shape class HoG-only beats colour-only.

It prints the ladder with PASS/FAIL per condition and exits with status 1 if
any condition fails. About 5-10 minutes on 2 cores; ``--quick`` is a smaller,
faster smoke run whose numbers are only indicative.

Usage::

    .venv/bin/python bench/dataset_ladder.py [--quick] [--n-train N] [--seed S]
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from course_utils import synthetic  # noqa: E402
import ladder_models as lm  # noqa: E402

F32 = np.float32


def log(msg=""):
    print(msg, flush=True)


def accuracy(pred, y):
    return float(np.mean(pred == y))


def per_class_accuracy(pred, y, num_classes=10):
    return np.array([np.mean(pred[y == c] == c) if np.any(y == c) else np.nan for c in range(num_classes)])


def search_softmax(name, Xtr, ytr, Xval, yval, lrs, regs, iters, seed):
    """Grid search lr x reg for a linear softmax classifier; return the best model."""
    best = (-1.0, None, None)
    for lr in lrs:
        for reg in regs:
            model = lm.SoftmaxClassifier(Xtr.shape[1], seed=seed).train(Xtr, ytr, lr=lr, reg=reg, num_iters=iters)
            acc = accuracy(model.predict(Xval), yval)
            log(f"    {name}: lr={lr:g} reg={reg:g} -> val {acc:.3f}")
            if acc > best[0]:
                best = (acc, model, (lr, reg))
    return best


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n-train", type=int, default=None,
                        help="training images to generate (default 50000; --quick: 10000)")
    parser.add_argument("--n-test", type=int, default=None, help="test images (default 10000; --quick: 2000)")
    parser.add_argument("--seed", type=int, default=0, help="dataset seed (default 0)")
    parser.add_argument("--workers", type=int, default=None, help="generator processes (default min(2, CPUs))")
    parser.add_argument("--quick", action="store_true", help="small smoke run (indicative numbers only)")
    parser.add_argument("--convnet-train", type=int, default=None,
                        help="training images for the ConvNet (default: all; --quick 5000)")
    parser.add_argument("--convnet-epochs", type=int, default=None, help="ConvNet epochs (default 3; --quick 2)")
    parser.add_argument("--convnet-minutes", type=float, default=None,
                        help="stop ConvNet training after this many minutes (default 5; --quick 1)")
    args = parser.parse_args(argv)

    quick = args.quick
    n_train = args.n_train if args.n_train is not None else (10000 if quick else 50000)
    n_test = args.n_test if args.n_test is not None else (2000 if quick else 10000)
    n_val = max(500, n_train // 25)
    if n_train <= n_val + 1000:
        parser.error(f"--n-train must be more than {n_val + 1000}")
    iters = 800 if quick else 1500
    conv_n = args.convnet_train if args.convnet_train is not None else (5000 if quick else n_train - n_val)
    conv_epochs = args.convnet_epochs if args.convnet_epochs is not None else (2 if quick else 3)
    conv_minutes = args.convnet_minutes if args.convnet_minutes is not None else (1.0 if quick else 5.0)
    names = synthetic.CLASS_NAMES
    t_start = time.perf_counter()

    # ---- data ------------------------------------------------------------
    log(f"Embedded dataset v{synthetic.GENERATOR_VERSION}, seed {args.seed}: "
        f"{n_train} train + {n_test} test images")
    t0 = time.perf_counter()
    X_all, y_all, X_test, y_test = synthetic.generate(n_train, n_test, seed=args.seed, workers=args.workers)
    gen_time = time.perf_counter() - t0
    log(f"  generated in {gen_time:.1f} s ({os.cpu_count()} CPUs visible)")
    X_train, y_train = X_all[:-n_val], y_all[:-n_val]
    X_val, y_val = X_all[-n_val:], y_all[-n_val:]
    log(f"  train {X_train.shape}, val {X_val.shape}, test {X_test.shape}")
    results = {}

    # ---- 1. softmax on raw pixels ---------------------------------------
    log("\n[1] Softmax classifier on raw pixels (mean-subtracted, bias trick, SGD)")
    t0 = time.perf_counter()
    mean_image = X_train.reshape(X_train.shape[0], -1).mean(0, dtype=np.float64).astype(F32)

    def raw(X):
        return lm.add_bias_column(X.reshape(X.shape[0], -1).astype(F32) - mean_image)

    Rtr, Rval, Rte = raw(X_train), raw(X_val), raw(X_test)
    val_acc, model, (lr, reg) = search_softmax("raw", Rtr, y_train, Rval, y_val,
                                               lrs=(1e-7, 3e-7, 1e-6), regs=(1e2, 1e4), iters=iters, seed=1)
    pred_raw = model.predict(Rte)
    results["raw"] = accuracy(pred_raw, y_test)
    log(f"  best lr={lr:g} reg={reg:g}: val {val_acc:.3f}, TEST {results['raw']:.3f}   ({time.perf_counter() - t0:.0f} s)")
    del Rtr, Rval, Rte

    # ---- 2. features ----------------------------------------------------
    log("\n[2] Features: HoG (8x8 cells, 9 orientations) and hue histogram (10 bins)")
    t0 = time.perf_counter()
    feats = {}
    for split, X in (("train", X_train), ("val", X_val), ("test", X_test)):
        feats[split] = (lm.hog_features(X), lm.colour_histogram_features(X))
    log(f"  computed in {time.perf_counter() - t0:.1f} s: HoG {feats['train'][0].shape[1]} dims, "
        f"colour {feats['train'][1].shape[1]} dims")

    per_class = {}
    for which, col in (("colour", 1), ("hog", 0)):
        std = lm.Standardiser().fit(feats["train"][col])
        Ftr, Fval, Fte = (lm.add_bias_column(std(feats[s][col])) for s in ("train", "val", "test"))
        val_acc, model, (lr, reg) = search_softmax(which, Ftr, y_train, Fval, y_val,
                                                   lrs=(1e-2, 1e-1), regs=(1e-4, 1e-2), iters=iters, seed=2)
        pred = model.predict(Fte)
        results[which] = accuracy(pred, y_test)
        per_class[which] = per_class_accuracy(pred, y_test)
        log(f"  {which}-only linear: best lr={lr:g} reg={reg:g}: val {val_acc:.3f}, TEST {results[which]:.3f}")

    # ---- 3. two-layer net on HoG + colour --------------------------------
    log("\n[3] Two-layer net (affine-ReLU-affine) on HoG + colour histogram features")
    t0 = time.perf_counter()
    std = lm.Standardiser().fit(np.hstack(feats["train"]))
    Ftr, Fval, Fte = (std(np.hstack(feats[s])) for s in ("train", "val", "test"))
    best = (-1.0, None, None)
    for hidden, lr, reg in ((256, 0.01, 1e-4), (256, 0.03, 1e-4), (512, 0.01, 1e-3)):
        net = lm.TwoLayerNet(Ftr.shape[1], hidden, seed=3).train(
            Ftr, y_train, lr=lr, reg=reg, epochs=6 if quick else 12, batch_size=200)
        acc = accuracy(net.predict(Fval), y_val)
        log(f"    hidden={hidden} lr={lr:g} reg={reg:g} -> val {acc:.3f}")
        if acc > best[0]:
            best = (acc, net, (hidden, lr, reg))
    val_acc, net, cfg = best
    pred_feat = net.predict(Fte)
    results["features"] = accuracy(pred_feat, y_test)
    log(f"  best hidden={cfg[0]} lr={cfg[1]:g} reg={cfg[2]:g}: val {val_acc:.3f}, "
        f"TEST {results['features']:.3f}   ({time.perf_counter() - t0:.0f} s)")
    del feats, Ftr, Fval, Fte

    # ---- 4. ConvNet -----------------------------------------------------
    log("\n[4] ConvNet: conv3x3x16-ReLU-pool-conv3x3x32-ReLU-pool-affine128-ReLU-affine (Adam)")
    t0 = time.perf_counter()
    mean_rgb = (X_train.reshape(-1, 3).mean(0, dtype=np.float64) / 255.0).astype(F32)
    std_rgb = (X_train.reshape(-1, 3).std(0, dtype=np.float64) / 255.0).astype(F32)

    def nchw(X):
        return np.ascontiguousarray(((X.astype(F32) / F32(255.0) - mean_rgb) / std_rgb).transpose(0, 3, 1, 2))

    Ctr = nchw(X_train[:conv_n])
    cnn = lm.SmallConvNet(16, 32, 128, seed=4)
    cnn.train(Ctr, y_train[:conv_n], lr=2e-3, reg=1e-4, epochs=conv_epochs, batch_size=64,
              time_limit=conv_minutes * 60, decay=0.5, log=log)
    del Ctr
    train_time = time.perf_counter() - t0
    results["convnet_val"] = accuracy(cnn.predict(nchw(X_val)), y_val)
    pred_cnn = cnn.predict(nchw(X_test))
    results["convnet"] = accuracy(pred_cnn, y_test)
    log(f"  trained on {min(conv_n, len(y_train))} images in {train_time:.0f} s: "
        f"val {results['convnet_val']:.3f}, TEST {results['convnet']:.3f}")

    # ---- report ---------------------------------------------------------
    log("\nPer-class test accuracy, linear classifiers on one feature each")
    log(f"  {'class':<10} {'family':<7} {'colour':>7} {'HoG':>7}  best")
    checks = []
    for c, name in enumerate(names):
        family = "colour" if c in synthetic.COLOUR_CLASSES else "shape"
        a_col, a_hog = per_class["colour"][c], per_class["hog"][c]
        winner = "colour" if a_col > a_hog else "HoG"
        expected = "colour" if family == "colour" else "HoG"
        ok = winner == expected
        checks.append(ok)
        log(f"  {name:<10} {family:<7} {a_col:7.3f} {a_hog:7.3f}  {winner:<6} {'ok' if ok else 'WRONG'}")
    fam_means = {fam: (np.mean(per_class['colour'][list(idx)]), np.mean(per_class['hog'][list(idx)]))
                 for fam, idx in (("colour", synthetic.COLOUR_CLASSES), ("shape", synthetic.SHAPE_CLASSES))}
    for fam, (a, b) in fam_means.items():
        log(f"  {'mean':<10} {fam:<7} {a:7.3f} {b:7.3f}")

    conditions = [
        ("softmax on raw pixels in [30%, 60%]", 0.30 <= results["raw"] <= 0.60,
         f"{100 * results['raw']:.1f}%"),
        ("two-layer net on HoG+colour >= raw softmax + 5", results["features"] >= results["raw"] + 0.05,
         f"{100 * results['features']:.1f}% ({100 * (results['features'] - results['raw']):+.1f})"),
        ("ConvNet >= two-layer net + 5", results["convnet"] >= results["features"] + 0.05,
         f"{100 * results['convnet']:.1f}% ({100 * (results['convnet'] - results['features']):+.1f})"),
        ("colour histogram best on every colour class",
         all(checks[c] for c in synthetic.COLOUR_CLASSES), ""),
        ("HoG best on every shape class", all(checks[c] for c in synthetic.SHAPE_CLASSES), ""),
    ]
    log("\nDifficulty ladder (test accuracy; chance is 10%)")
    log(f"  colour histogram only, linear  {100 * results['colour']:5.1f}%")
    log(f"  HoG only, linear               {100 * results['hog']:5.1f}%")
    log(f"  softmax, raw pixels            {100 * results['raw']:5.1f}%")
    log(f"  two-layer net, HoG + colour    {100 * results['features']:5.1f}%")
    log(f"  ConvNet                        {100 * results['convnet']:5.1f}%")
    log("")
    for text, ok, value in conditions:
        log(f"  [{'PASS' if ok else 'FAIL'}] {text:<48} {value}")
    total = time.perf_counter() - t_start
    log(f"\nGeneration {gen_time:.1f} s; whole bench {total / 60:.1f} min")
    if quick:
        log("(--quick: small run, the numbers are only indicative)")
    failed = [text for text, ok, _ in conditions if not ok]
    if failed:
        log(f"FAILED: {len(failed)} condition(s)")
        return 1
    log("All ladder conditions hold.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
