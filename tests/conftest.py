"""Suite-wide collection rules.

- The suite's YAML files are fixtures (good and bad scenarios), never test
  items. The zchaos pytest plugin (harness/pytest_plugin.py) collects
  scenario files only under paths named on the command line; this keeps
  ``pytest tests/scenario`` from collecting the deliberately broken ones too.
- Container-tier tests share one Docker engine (its networks, labels and
  reaper): under pytest-xdist (``-n 4 --dist loadgroup`` in pyproject.toml)
  they all run on one worker, one after the other, as before xdist.
"""

from __future__ import annotations

import pytest

collect_ignore_glob = ["*.yaml", "*.yml"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("docker") is not None:
            item.add_marker(pytest.mark.xdist_group("docker-engine"))
