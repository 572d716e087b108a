"""A local real-time endpoint with SageMaker's contracts, deployed from ``endpoint_config_adj.json``.

    deployment   config -> registry -> object store -> checked models; the endpoint's files under SHOWCASE_HOME
    fleet        an endpoint config's variants (AllTraffic, a Challenger by weight, a Shadow), resolved and loaded
    routing      in a worker: which variant answers (weights, TargetVariant, a blue/green split) and the shadow copy
    alarms       CloudWatch-shaped alarms over the endpoint's per-variant metrics and what monitoring published
    rollout      UpdateEndpoint's DeploymentConfig: canary/linear steps, baking, automatic rollback, its records
    promotion    what one endpoint serves, deployed to another once approved (registry ModelLifeCycle)
    model        load and probe an ``xgboost-model`` (nthread=1)
    codec        request bodies and responses of the built-in XGBoost container
    batching     the requests a worker has in hand share one prediction
    capture      data capture records (SageMaker's JSON Lines format) into the object store
    metrics      per-worker request counts and latency (per variant: 4xx, 5xx, ModelLatency), the generation
    runtime_api  SageMaker Runtime API answers (InvokeEndpoint) shaped for botocore
    app          the ASGI app: /ping, /invocations, /endpoints/{name}/invocations; model hot swap
    server       gunicorn + uvicorn workers; why, in its docstring

Nothing here imports boto3, botocore, sagemaker or ``showcase.aws`` (an import-linter contract can say so).
The CLI is ``showcase endpoint`` (``showcase.cli.endpoint``).
"""
