"""The typer app, the `actmax` program around it, and the one place library errors become exit codes."""

from __future__ import annotations

import atexit
import contextlib
import io
import logging
import os
import re
import sys
import warnings
from typing import Annotated, Iterator

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="See what the filters of a convolutional network respond to.")


def run() -> None:
    """The `actmax` program: the typer app, with only actmax's own output on the terminal."""
    _keep_native_logs_off_the_terminal()
    try:
        app(prog_name="actmax")
    except SystemExit as exc:
        _exit_now(exc.code)


def _exit_now(code: int | str | None) -> None:
    """Exit with `code` without the interpreter's teardown, which takes about a second once TensorFlow is loaded.

    The exit handlers (Ray's shutdown, logging's flush) still run, and the streams are flushed; every file actmax
    writes is closed by then (bench/speed.py --whole measures the difference).
    """
    if isinstance(code, str):
        print(code, file=sys.stderr)
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
    except BrokenPipeError:  # what was left for a reader that has gone
        code = _stdout_to_devnull()
    sys.stderr.flush()
    os._exit(code if isinstance(code, int) else 0 if code is None else 1)


def _stdout_to_devnull() -> int:
    """Point standard output at /dev/null once its reader has gone (`actmax layers | head`), so that nothing more
    fails writing to it; the exit code a process killed by SIGPIPE has."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 141


def _keep_native_logs_off_the_terminal() -> None:
    """Send file descriptor 2 to /dev/null for the whole process, keeping Python's `sys.stderr` on the terminal.

    TensorFlow and absl write C++ log lines straight to descriptor 2, at start-up and later, whatever
    TF_CPP_MIN_LOG_LEVEL says; actmax's messages, progress bars and errors all go through `sys.stderr`.
    Python-side warnings and log records of TensorFlow, Keras and absl are silenced too.
    """
    sys.stderr.flush()
    terminal, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    sys.stderr = io.TextIOWrapper(io.FileIO(terminal, "w"), encoding=sys.stderr.encoding, errors="backslashreplace",
                                  line_buffering=True, write_through=True)
    warnings.filterwarnings("ignore", module=r"(keras|tensorflow|absl|h5py|google)(\.|$)")
    for name in ("tensorflow", "absl", "keras", "h5py"):
        logging.getLogger(name).setLevel(logging.ERROR)


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn library errors into one line on stderr and a non-zero exit code."""
    from ..errors import ActmaxError
    try:
        yield
    except ActmaxError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    except (typer.Exit, typer.Abort, typer.BadParameter):
        raise  # the command line's own ends, not failures
    except BrokenPipeError:  # the reader of our output stopped early (`| head`): nothing went wrong here
        raise typer.Exit(_stdout_to_devnull()) from None
    except Exception as exc:  # an allocation failure outside the library's own guards, or a failure unforeseen
        from ..models.memory import is_out_of_memory
        if is_out_of_memory(exc):
            typer.echo("error: out of memory; lower --size (or --batch, --tile)", err=True)
            raise typer.Exit(2) from None
        if os.environ.get("ACTMAX_TRACEBACK"):
            raise
        typer.echo(f"error: unexpected {type(exc).__name__}: {_gist(exc)}; rerun with ACTMAX_TRACEBACK=1 for the "
                   "traceback, and report it", err=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        typer.echo("interrupted: files already written are complete; rerun to redo the rest", err=True)
        raise typer.Exit(130) from None


def load_spec(model: str, preprocess: str | None = None, trust_code: bool = False, custom_code=None,
              wants=(), **options):
    """`actmax.load_model` (with a keras.applications model's classifier head where `wants` names a layer only
    the head has: `models.load_for`), and a note where a model file is fed pixels 0..255 by default though nothing
    in it scales them: a model trained on scaled images would then be shown what it never saw."""
    import actmax
    from ..output.progress import say
    from ..models import load_for, objects_in
    code = custom_code and objects_in(custom_code)
    spec = load_for(model, wants, preprocess=preprocess, safe_mode=not trust_code, custom_objects=code, **options)
    if preprocess is None and spec.preprocess == "none" and model not in actmax.models.model_names() \
            and actmax.models.reads_raw_pixels(spec.model):
        say(f"note: model '{spec.name}' is fed pixels 0..255 (--preprocess none) and nothing at its start scales "
            "them; if it was trained on scaled images, pass --preprocess unit (0..1), tf (-1..1), caffe or torch")
    return spec


GENERIC = ("Graph execution error", "Exception encountered when calling", "Detected at node", "<stack traces", "[[")


def _gist(exc: Exception) -> str:
    """The first line of an error's message that says what went wrong (TensorFlow and Keras open with generic
    lines, such as "Graph execution error:"), without Keras's terminal colours."""
    lines = [line.strip() for line in re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).splitlines() if line.strip()]
    return next((line for line in lines if not line.startswith(GENERIC)), lines[0] if lines else "")


def _version(value: bool) -> None:
    if value:
        from .. import __version__
        typer.echo(f"actmax {__version__}")
        raise typer.Exit()


@app.callback()
def main(version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                               help="Show the version and exit.")] = False) -> None:
    """See what the filters of a convolutional network respond to."""
