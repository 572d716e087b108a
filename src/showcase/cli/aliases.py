"""The five older commands, each another name of ``showcase``: ``showcase-local`` is ``showcase`` itself and
``showcase-registry``, ``-endpoint``, ``-monitor`` and ``-dashboard`` are ``showcase registry``, ``endpoint``,
``monitor`` and ``dashboard`` (the console scripts in pyproject.toml; ``deploy/local_endpoint.py`` uses ``endpoint``).
Here, not in the commands' own modules, so that no command's module imports the tree that imports it.
"""

from __future__ import annotations

from showcase.cli.main import alias

local = alias()
registry = alias("registry")
endpoint = alias("endpoint")
monitor = alias("monitor")
dashboard = alias("dashboard")
