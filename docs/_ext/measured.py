"""Sphinx role ``{measured}`` and directive ``hippo-api`` for the hippo_dam docs.

``{measured}`path:key.path``` or ``{measured}`path:key.path|format``` puts a value from a
recorded result file into the text: ``path`` is relative to the repository root, a JSON
file (``figures/*.json``, ``benchmarks/*.json``) walked by the dotted key path (list
indices as numbers, e.g. ``rows.0.success``; a key that holds dots, such as ``0.1`` or
``relay gain a = 1.5``, is written as it is and matched whole) or a CSV file addressed as
``<row number>.<column>``; ``format`` is a Python format spec (``.3f``, ``.1%``).
A missing file, key or column stops the build with an error naming it. Inside a markdown
table row the ``|`` before the format is written ``\\|`` (an unescaped one ends the cell and
leaves the role as raw text, which the docs test catches).

``hippo-api`` emits the autodoc entry of every name in ``hippo_dam.__all__``.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.errors import ExtensionError
from sphinx.util.docutils import SphinxDirective

ROOT = Path(__file__).resolve().parents[2]


def measured_value(text, root=ROOT):
    """The formatted value that ``{measured}`text``` stands for; ``ExtensionError`` naming what is missing."""
    spec, _, fmt = text.partition("|")
    path, sep, keys = spec.rpartition(":")
    if not sep or not path or not keys:
        raise ExtensionError(f"{{measured}}`{text}`: expected <path>:<key.path>[|<format>]")
    file = root / path.strip()
    if not file.is_file():
        raise ExtensionError(f"{{measured}}`{text}`: no file {path.strip()!r} (from the repository root)")
    parts = keys.strip().split(".")
    if file.suffix == ".csv":
        with open(file, newline="") as fh:
            rows = list(csv.DictReader(fh))
        if len(parts) != 2 or not parts[0].isdigit() or int(parts[0]) >= len(rows):
            raise ExtensionError(f"{{measured}}`{text}`: {path} has {len(rows)} rows; "
                                 "address a CSV value as <row number>.<column>")
        row = rows[int(parts[0])]
        if parts[1] not in row:
            raise ExtensionError(f"{{measured}}`{text}`: {path} has no column {parts[1]!r} ({sorted(row)})")
        value = row[parts[1]]
        try:
            value = float(value) if fmt else value
        except ValueError:
            pass
    else:
        value = json.loads(file.read_text())
        depth = 0
        while depth < len(parts):
            key = parts[depth]
            where = ".".join(parts[:depth]) or "the top level"
            if isinstance(value, list):
                if not key.isdigit() or int(key) >= len(value):
                    raise ExtensionError(f"{{measured}}`{text}`: {path}: no index {key!r} in {where} "
                                         f"(a list of {len(value)})")
                value = value[int(key)]
                depth += 1
            elif isinstance(value, dict):
                # a key may itself hold dots ("0.1", "gain a = 1.5"): it matches several parts joined
                ends = [end for end in range(depth + 1, len(parts) + 1) if ".".join(parts[depth:end]) in value]
                if not ends:
                    raise ExtensionError(f"{{measured}}`{text}`: {path}: no key {key!r} in {where}")
                if len(ends) > 1:
                    raise ExtensionError(f"{{measured}}`{text}`: {path}: ambiguous in {where}: keys "
                                         + " and ".join(repr(".".join(parts[depth:end])) for end in ends))
                value = value[".".join(parts[depth:ends[0]])]
                depth = ends[0]
            else:
                raise ExtensionError(f"{{measured}}`{text}`: {path}: {where} is a value, not a table")
    if isinstance(value, list) and value and all(isinstance(v, (int, float, str)) for v in value):
        # a list of values (a parameter grid) reads as "1, 2, 4, 8", each value formatted
        return ", ".join(format(v, fmt) if fmt else str(v) for v in value)
    if isinstance(value, (dict, list)):
        raise ExtensionError(f"{{measured}}`{text}`: {path}: {keys} is a table, not a value")
    return format(value, fmt) if fmt else str(value)


def measured_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    return [nodes.inline(rawtext, measured_value(text), classes=["measured"])], []


class HippoAPI(SphinxDirective):
    """Autodoc entries for every public name of hippo_dam (``hippo_dam.__all__``)."""

    def run(self):
        import inspect

        import hippo_dam

        lines = []
        for module, names in hippo_dam._PUBLIC.items():  # grouped by the module that defines them
            lines += [f".. rubric:: hippo_dam.{module}", ""]
            lines += self._entries(hippo_dam, names, inspect)
        node = nodes.section()
        node.document = self.state.document
        self.state.nested_parse(StringList(lines, source="hippo_dam.__all__"), self.content_offset, node)
        return node.children

    @staticmethod
    def _entries(hippo_dam, names, inspect):
        lines = []
        for name in names:
            obj = getattr(hippo_dam, name)
            if inspect.isclass(obj):
                lines += [f".. autoclass:: hippo_dam.{name}", "   :members:", ""]
            elif callable(obj):
                lines += [f".. autofunction:: hippo_dam.{name}", ""]
            else:  # constants: their type and size (the value's own docstring would be its type's)
                size = f", {len(obj)} entries" if hasattr(obj, "__len__") else ""
                lines += [f".. py:data:: hippo_dam.{name}", "",
                          f"   ``{type(obj).__name__}``{size}; see ``hippo_dam.{name}`` in Python.", ""]
        return lines


def _skip_sklearn_metadata_requests(app, what, name, obj, skip, options):
    """scikit-learn's generated ``set_*_request`` methods (their docstrings cite sklearn's own docs)."""
    if name == "get_metadata_routing" or (name.startswith("set_") and name.endswith("_request")):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_sklearn_metadata_requests)
    app.add_role("measured", measured_role)
    app.add_directive("hippo-api", HippoAPI)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
