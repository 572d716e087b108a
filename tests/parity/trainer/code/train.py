"""Fit a linear model on /opt/ml/input/data/train and save it to /opt/ml/model, as in the container."""

import argparse
import json
import os
import time

import numpy as np
from sklearn.linear_model import LinearRegression

parser = argparse.ArgumentParser()
parser.add_argument("--name")
parser.add_argument("--fail", default="no")
args = parser.parse_args()

with open("/opt/ml/input/config/hyperparameters.json") as handle:
    hyperparameters = json.load(handle)
# Mark this job's model directory, wait for a parallel job to do the same, and check nobody else's mark is here.
os.makedirs("/opt/ml/model", exist_ok=True)
with open(f"/opt/ml/model/{args.name}.mark", "w") as handle:
    handle.write(args.name)
time.sleep(1.0)
seen = sorted(os.listdir("/opt/ml/model"))
assert seen == [f"{args.name}.mark"], f"job {args.name} sees someone else's model directory: {seen}"
if args.fail == "yes":
    raise RuntimeError(f"job {args.name}: refusing to train, as asked")

data = np.loadtxt("/opt/ml/input/data/train/train.csv", delimiter=",")
model = LinearRegression().fit(data[:, 1:], data[:, 0])
with open("/opt/ml/model/model.json", "w") as handle:
    json.dump(
        {
            "name": args.name,
            "coef": model.coef_.tolist(),
            "intercept": float(model.intercept_),
            "hyperparameters": hyperparameters,
            "channels": sorted(os.listdir("/opt/ml/input/data")),
        },
        handle,
    )
os.makedirs("/opt/ml/output/data", exist_ok=True)
with open("/opt/ml/output/data/rows.txt", "w") as handle:
    handle.write(str(len(data)))
print(f"{args.name}: trained on {len(data)} rows")
