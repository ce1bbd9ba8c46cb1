"""Sphinx configuration of the hippo_dam documentation (python -m sphinx -W docs docs/_build/html)."""
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the checkout's hippo_dam
sys.path.insert(0, str(HERE / "_ext"))

import hippo_dam  # noqa: E402

project = "hippo_dam"
author = "The hippo_dam authors"
copyright = "2026, The hippo_dam authors"
release = version = hippo_dam.__version__

extensions = ["myst_parser", "sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.mathjax", "measured"]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build", "_ext"]
myst_enable_extensions = ["dollarmath"]
myst_heading_anchors = 3
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
napoleon_use_ivar = True  # Attributes sections as fields (no second description of a property)
autodoc_member_order = "bysource"
autodoc_typehints = "none"
html_theme = "alabaster"
html_static_path = []
