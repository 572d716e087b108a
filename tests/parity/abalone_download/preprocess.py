"""Fetch the Abalone data from S3 inside the job, as the Projects model-build template's preprocess.py does, and
split it into train/validation/test CSVs (label first, no header)."""

import argparse
import logging
import os

import boto3
import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)
BASE_DIR = "/opt/ml/processing"
COLUMNS = ["sex", "length", "diameter", "height", "whole_weight", "shucked_weight", "viscera_weight", "shell_weight"]

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    parser = argparse.ArgumentParser()
    parser.add_argument("--input-data", type=str, required=True)
    args = parser.parse_args()

    os.makedirs(f"{BASE_DIR}/data", exist_ok=True)
    bucket = args.input_data.split("/")[2]
    key = "/".join(args.input_data.split("/")[3:])
    logger.info("Downloading data from bucket: %s, key: %s", bucket, key)
    fn = f"{BASE_DIR}/data/abalone-dataset.csv"
    s3 = boto3.resource("s3")
    s3.Bucket(bucket).download_file(key, fn)

    frame = pd.read_csv(fn, header=None, names=[*COLUMNS, "rings"])
    os.unlink(fn)
    labels = frame.pop("rings").astype(float)
    features = pd.get_dummies(frame, columns=["sex"], dtype=float)
    numeric = COLUMNS[1:]
    features[numeric] = (features[numeric] - features[numeric].mean()) / features[numeric].std()
    data = pd.concat([labels, features], axis=1).to_numpy()
    np.random.default_rng(7).shuffle(data)
    cut_train, cut_validation = int(0.7 * len(data)), int(0.85 * len(data))
    splits = {"train": data[:cut_train], "validation": data[cut_train:cut_validation], "test": data[cut_validation:]}
    for name, rows in splits.items():
        os.makedirs(f"{BASE_DIR}/{name}", exist_ok=True)
        pd.DataFrame(rows).to_csv(f"{BASE_DIR}/{name}/{name}.csv", header=False, index=False)
    logger.info("split %s", {name: len(rows) for name, rows in splits.items()})
