"""Train the accuracy demo: DigitsNet on scikit-learn's bundled digits, upsampled to 32x32.

Writes `demo/digits-demo/DigitsNet.pdparams`, the held-out images as PNG files and
`demo/digits-demo/val_list.txt`, then prints the held-out top-1/top-5 measured exactly as the
accuracy worker measures them (same preprocessing). Deterministic: fixed seed and split.

    .venv/bin/python scripts/train_digits_demo.py [--out demo/digits] [--epochs 30]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

SEED = 0
TEST_FRACTION = 0.25
SIZE = 32
EVAL = {"resize_short": SIZE, "mean": [0.5], "std": [0.5], "channels": 1}


def digit_images() -> tuple[list, list[int]]:
    """sklearn's 8x8 digits (0-16) as 32x32 uint8 greyscale PIL images, with labels."""
    import numpy as np
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = [Image.fromarray((d * 255 / 16).round().astype(np.uint8), mode="L").resize((SIZE, SIZE), Image.Resampling.BILINEAR) for d in digits.images]
    return images, [int(t) for t in digits.target]


def main(argv: list[str] | None = None) -> int:
    """Train, save weights and the held-out split, print held-out accuracy."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "demo" / "digits-demo", help="output folder (default demo/digits-demo)")
    parser.add_argument("--epochs", type=int, default=30, help="training epochs (default 30)")
    args = parser.parse_args(argv)

    import numpy as np
    import paddle
    from sklearn.model_selection import train_test_split

    from zoocards.demo.digits import DigitsNet
    from zoocards.workers.accuracy import preprocess

    images, labels = digit_images()
    train_idx, test_idx = train_test_split(np.arange(len(images)), test_size=TEST_FRACTION, random_state=SEED, stratify=labels)
    out: Path = args.out
    (out / "images").mkdir(parents=True, exist_ok=True)
    lines = []
    for i in test_idx:
        rel = f"images/{i:04d}.png"
        images[i].save(out / rel, optimize=True)
        lines.append(f"{rel} {labels[i]}")
    (out / "val_list.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")

    # Train on exactly what evaluation reads: the saved PNG pixels through the eval preprocessing.
    def tensor(indices: np.ndarray) -> np.ndarray:
        return np.stack([((np.asarray(images[i], dtype="float32")[None] / 255.0) - 0.5) / 0.5 for i in indices]).astype("float32")

    x_train, y_train = tensor(train_idx), np.asarray(labels)[train_idx].astype("int64")
    paddle.seed(SEED)
    rng = np.random.default_rng(SEED)
    model = DigitsNet()
    optimizer = paddle.optimizer.Adam(learning_rate=3e-3, parameters=model.parameters())
    loss_fn = paddle.nn.CrossEntropyLoss()
    for epoch in range(args.epochs):
        model.train()
        order = rng.permutation(len(x_train))
        for start in range(0, len(order), 64):
            idx = order[start : start + 64]
            loss = loss_fn(model(paddle.to_tensor(x_train[idx])), paddle.to_tensor(y_train[idx]))
            loss.backward()
            optimizer.step()
            optimizer.clear_grad()
        print(f"epoch {epoch + 1}/{args.epochs} loss {float(loss):.4f}", file=sys.stderr)
    model.eval()
    paddle.save(model.state_dict(), str(out / "DigitsNet.pdparams"))

    batch = np.stack([preprocess(out / line.split()[0], SIZE, EVAL) for line in lines])
    with paddle.no_grad():
        ranked = np.argsort(-model(paddle.to_tensor(batch)).numpy(), axis=1, kind="stable")[:, :5]
    truth = np.asarray(labels)[test_idx]
    top1 = float(np.mean(ranked[:, 0] == truth))
    top5 = float(np.mean(np.any(ranked == truth[:, None], axis=1)))
    print(f"held-out images: {len(truth)}  top1: {top1:.4f}  top5: {top5:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
