"""Reading a scenario file: YAML data plus the line of every key and list item.

PyYAML's composer keeps a start mark on every node, so we compose the
document once, walk the node tree to record ``path -> line`` (1-based), then
construct plain Python data from the same tree. Errors found later on the
data (by path) are reported at the right line without a custom loader.
Duplicate keys, which YAML loaders silently collapse, are caught here.
"""

from __future__ import annotations

from typing import Any

import yaml

from harness.scenario.errors import Issues, Path_, ScenarioError


def _walk(node: yaml.Node, path: Path_, lines: dict[Path_, int], issues: Issues,
          seen_nodes: set[int]) -> None:
    # An alias points at a node already walked: skip it, or a file of nested
    # aliases ("billion laughs") would take exponential time to walk.
    if id(node) in seen_nodes:
        return
    seen_nodes.add(id(node))
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue  # reported after construction: keys must be strings
            key = key_node.value
            line = key_node.start_mark.line + 1
            if key in seen and key != "<<":
                issues.add(
                    (*path, key),
                    f"duplicate key {key!r} (first written on line {seen[key]}); "
                    "YAML would silently keep only the last one",
                    line=line,
                )
                continue
            seen[key] = line
            lines.setdefault((*path, key), line)
            _walk(value_node, (*path, key), lines, issues, seen_nodes)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines.setdefault((*path, index), item.start_mark.line + 1)
            _walk(item, (*path, index), lines, issues, seen_nodes)


def read_yaml(text: str, issues: Issues) -> Any:
    """Parse ``text``; record lines in ``issues.lines``; syntax errors become issues.

    Returns the document's data, or ``None`` after recording an error.
    """
    lines: dict[Path_, int] = {}
    issues.lines = lines
    try:
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                issues.add((), "the file is empty; a scenario needs at least name, pattern, "
                               "duration and nodes (see docs/scenario-format.md)")
                return None
            lines[()] = node.start_mark.line + 1
            _walk(node, (), lines, issues, set())
            data = loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        context = f" ({exc.context})" if exc.context and exc.problem else ""
        issues.errors.append(
            _syntax_error(issues.source, line, f"YAML syntax error: {problem}{context}")
        )
        return None
    except yaml.YAMLError as exc:
        issues.errors.append(_syntax_error(issues.source, None, f"YAML error: {exc}"))
        return None
    return data


def _syntax_error(source: str, line: int | None, message: str) -> ScenarioError:
    return ScenarioError(source, line, "", message)
