"""A local real-time endpoint with SageMaker's contracts, deployed from ``endpoint_config_adj.json``.

    deployment   config -> registry -> object store -> checked model; the endpoint's files under SHOWCASE_HOME
    model        load and probe an ``xgboost-model`` (nthread=1)
    codec        request bodies and responses of the built-in XGBoost container
    batching     the requests a worker has in hand share one prediction
    capture      data capture records (SageMaker's JSON Lines format) into the object store
    metrics      per-worker request counts and latency, and the loaded model generation
    runtime_api  SageMaker Runtime API answers (InvokeEndpoint) shaped for botocore
    app          the ASGI app: /ping, /invocations, /endpoints/{name}/invocations; model hot swap
    server       gunicorn + uvicorn workers; why, in its docstring

Nothing here imports boto3, botocore, sagemaker or ``showcase.aws`` (an import-linter contract can say so).
The CLI is ``showcase endpoint`` (``showcase.cli.endpoint``).
"""
