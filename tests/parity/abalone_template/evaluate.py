"""Evaluate the model as the XGBoost 1.0-1 image saved it: a pickled Booster in model.tar.gz."""

import json
import os
import pickle
import tarfile

import numpy as np
import pandas as pd
import xgboost

if __name__ == "__main__":
    with tarfile.open("/opt/ml/processing/model/model.tar.gz") as archive:
        archive.extractall(path=".", filter="data")
    with open("xgboost-model", "rb") as model_file:
        model = pickle.load(model_file)
    test = pd.read_csv("/opt/ml/processing/test/test.csv", header=None)
    actual = test.iloc[:, 0].to_numpy()
    predictions = model.predict(xgboost.DMatrix(test.iloc[:, 1:].values))
    mse = float(np.mean((actual - predictions) ** 2))
    report = {"regression_metrics": {"mse": {"value": mse, "standard_deviation": float(np.std(actual - predictions))}}}
    os.makedirs("/opt/ml/processing/evaluation", exist_ok=True)
    with open("/opt/ml/processing/evaluation/evaluation.json", "w") as out:
        json.dump(report, out)
    print(report)
