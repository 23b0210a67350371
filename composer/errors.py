"""One root error for everything `weekly` reports to a user.

Stages raise a subclass; the CLI prints `error: <message>` on one line and exits 1.
Third-party errors are wrapped once, at the boundary that knows the file or host,
and chained with `from err` so a debugger still sees the cause.
"""


class WeeklyError(Exception):
    """A user or data error: the message names the file, line or host and the reason.

    `problems` are the per-input problems (models.Problem) that led to it, printed before it.
    """

    def __init__(self, message: str, problems: tuple = ()) -> None:
        super().__init__(message)
        self.problems = problems


class ConfigError(WeeklyError):
    """The settings (config/weekly.toml, .env, WEEKLY_* variables) are wrong."""


class RenderError(WeeklyError):
    """A template or the MJML compiler failed."""


def invalid_key(err) -> tuple[str, str]:
    """(dotted key, reason) for the first problem in a pydantic ValidationError, worded for a user.

    A misspelt key shows as both unknown and missing; naming the unknown one points at the typo.
    """
    first = min(err.errors(), key=lambda error: error["type"] != "extra_forbidden")
    key = ".".join(str(part) for part in first["loc"])
    reason = {"extra_forbidden": "unknown key (misspelt?)", "missing": "missing"}.get(
        first["type"], first["msg"].removeprefix("Value error, "))
    return key, reason
