"""Split the Abalone data into train/validation/test CSVs (label first, no header), at SageMaker's paths."""

import os

import numpy as np
import pandas as pd

BASE_DIR = "/opt/ml/processing"
COLUMNS = [
    "sex",
    "length",
    "diameter",
    "height",
    "whole_weight",
    "shucked_weight",
    "viscera_weight",
    "shell_weight",
    "rings",
]

if __name__ == "__main__":
    source = f"{BASE_DIR}/input/abalone.data"
    frame = pd.read_csv(source, header=None, names=COLUMNS)
    labels = frame.pop("rings").astype(float)
    features = pd.get_dummies(frame, columns=["sex"], dtype=float)
    numeric = [name for name in COLUMNS[1:-1]]
    features[numeric] = (features[numeric] - features[numeric].mean()) / features[numeric].std()
    data = pd.concat([labels, features], axis=1).to_numpy()
    np.random.default_rng(7).shuffle(data)
    cut_train, cut_validation = int(0.7 * len(data)), int(0.85 * len(data))
    splits = {"train": data[:cut_train], "validation": data[cut_train:cut_validation], "test": data[cut_validation:]}
    for name, rows in splits.items():
        os.makedirs(f"{BASE_DIR}/{name}", exist_ok=True)
        pd.DataFrame(rows).to_csv(f"{BASE_DIR}/{name}/{name}.csv", header=False, index=False)
    print({name: len(rows) for name, rows in splits.items()})
