"""The suite's YAML files are fixtures (good and bad scenarios), never test items.

The zchaos pytest plugin (harness/pytest_plugin.py) collects scenario files
only under paths named on the command line; this keeps ``pytest
tests/scenario`` from collecting the deliberately broken ones too.
"""

collect_ignore_glob = ["*.yaml", "*.yml"]
