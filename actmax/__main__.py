"""`python -m actmax` runs the command line."""

from .cli import run

run()
