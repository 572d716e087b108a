"""Data-quality and model-quality monitoring in SageMaker Model Monitor's file formats, with numpy and pandas.

    profile.py      columns of CSV text -> per-column counts, types and values (chunk by chunk)
    statistics.py   a profile -> statistics.json; statistics -> suggested constraints.json
    checks.py       current statistics against baseline statistics and constraints -> constraint_violations.json
    captures.py     an endpoint's data-capture files -> the CSV rows they hold, malformed lines counted
    baselines.py    where a model package keeps its data-quality baseline
    report.py       an HTML report with one inline SVG plot per feature
    runs.py         a monitoring run over an endpoint's captures, and the runs kept so far

Model quality (regression), from ground truth:

    model_quality.py  predictions and labels -> statistics.json (regression_metrics); suggested constraints;
                      constraint_violations.json; the metrics a model-quality job publishes
    ground_truth.py   ground-truth JSON Lines joined with the captured predictions (inferenceId, else eventId)
    quality_runs.py   a model-quality run over an endpoint's captures and ground truth, and the runs kept so far

Nothing here talks to AWS: the same documents are read and written on SageMaker by the Model Monitor
analyzer image, and locally by this package.

SageMaker Clarify's formats, for ClarifyCheck steps:

    bias.py         Clarify's pre-training and post-training bias metrics, each as its guide defines it
    clarify.py      analysis_config.json and a CSV dataset -> analysis.json, report.ipynb; bias and SHAP drift checks
    kernel_shap.py  KernelSHAP (the shap library's) of any prediction function, as SHAPConfig asks
"""
