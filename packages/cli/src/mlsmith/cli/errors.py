"""The one place where exceptions become exit codes: a Typer group that wraps every command.

Living in the group (not only in ``main.run``) means ``CliRunner`` tests see exactly what a user
sees. Typer itself already turns usage errors into exit 2 and Ctrl-C into exit 130.
"""

from __future__ import annotations

import os

import typer
from typer.core import TyperGroup
from typer.exceptions import TyperException

from mlsmith.cli.output import print_error

EXIT_FAILED = 1  # a run ended failed, or an unexpected internal error
EXIT_BAD_INPUT = 2  # bad input / unknown object / platform error; also Typer's usage errors
EXIT_INTERRUPTED = 130  # Ctrl-C, the shell convention (128 + SIGINT)


def debug_enabled() -> bool:
    return os.environ.get("MLSMITH_DEBUG", "").lower() not in ("", "0", "false", "no")


def describe(exc: BaseException) -> tuple[int, str]:
    """(exit code, one-line message) for an exception that escaped a command."""
    from mlsmith.core.errors import MlsmithError  # light: stdlib only

    if isinstance(exc, MlsmithError):
        return EXIT_BAD_INPUT, exc.message
    if isinstance(exc, FileNotFoundError):
        return EXIT_BAD_INPUT, f"file not found: {exc.filename or exc}"
    if isinstance(exc, OSError):
        where = f": {exc.filename}" if exc.filename else ""
        return EXIT_BAD_INPUT, f"{exc.strerror or exc}{where}"
    return (
        EXIT_FAILED,
        f"internal error ({type(exc).__name__}: {exc}); set MLSMITH_DEBUG=1 for details",
    )


class ErrorMappingGroup(TyperGroup):
    def invoke(self, ctx: typer.Context):
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, TyperException, KeyboardInterrupt):
            raise
        except Exception as exc:
            if debug_enabled():
                raise
            code, message = describe(exc)
            print_error(message)
            raise typer.Exit(code) from None
