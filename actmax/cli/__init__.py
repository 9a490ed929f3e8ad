"""The `actmax` command line: each command parses options, makes one library call, and says what it wrote.

Commands live by family (`render_commands`, `inspect_commands`, `atlas_commands`) and register on the one typer `app`.
"""

from . import render_commands, inspect_commands, atlas_commands  # noqa: F401, I001  (importing registers them, in help order)
from .app import app, run

__all__ = ["app", "run"]
