"""`python -m actmax` runs the command line."""

from .cli import app

app(prog_name="actmax")
