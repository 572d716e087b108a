"""A local web dashboard: pipeline executions with their step graphs, the model registry, and endpoints.

    from showcase.dashboard import create_app
    from showcase.dashboard.local_source import LocalSource
    app = create_app(LocalSource(showcase.settings.load()))

``showcase dashboard`` (``showcase.cli.dashboard``) serves it on 127.0.0.1; ``--aws`` reads SageMaker instead.
"""

from showcase.dashboard.app import create_app
from showcase.dashboard.source import Source

__all__ = ["Source", "create_app"]
