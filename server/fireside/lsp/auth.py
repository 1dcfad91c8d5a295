"""The auth token that TCP and WebSocket clients must present in ``initializationOptions.authToken``.

Where it comes from (contracts): ``--auth-token-file FILE``, else the environment variable
``FIRESIDE_AUTH_TOKEN``, else a random token that the server writes to a file only the user can
read (0600, in a 0700 directory) and whose path it prints on stderr. The token itself is never
printed or logged; it is compared in constant time.
"""

from __future__ import annotations

import contextlib
import hmac
import os
import secrets
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

AUTH_TOKEN_ENV = "FIRESIDE_AUTH_TOKEN"
AUTH_TOKEN_OPTION = "authToken"  # the key in initializationOptions
MIN_TOKEN_LENGTH = 16


class AuthSetupError(Exception):
    """The token cannot be had (an unreadable or empty file, a token too short): the server does not start."""


@dataclass(frozen=True)
class AuthToken:
    value: str = field(repr=False)
    source: str  # for the start-up message: where a client finds it (never the token itself)
    generated_file: Path | None = None  # a file this process wrote, removed when it stops

    def __repr__(self) -> str:  # never show the token, not even in a traceback's locals
        return f"AuthToken(source={self.source!r})"

    def matches(self, candidate: object) -> bool:
        """Constant-time comparison; anything but a string is a mismatch."""
        if not isinstance(candidate, str):
            return False
        return hmac.compare_digest(candidate.encode("utf-8", "surrogatepass"), self.value.encode("utf-8"))

    def remove_generated_file(self) -> None:
        if self.generated_file is not None:
            with contextlib.suppress(FileNotFoundError):
                self.generated_file.unlink()


def _checked(value: str, where: str) -> str:
    value = value.strip()
    if len(value) < MIN_TOKEN_LENGTH:
        raise AuthSetupError(f"the auth token from {where} is too short (at least {MIN_TOKEN_LENGTH} characters)")
    return value


def token_from_file(path: Path) -> tuple[str, str | None]:
    """The token in ``path`` and a warning when others may read the file."""
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise AuthSetupError(f"cannot read the auth token file {path}: {error}") from None
    warning = None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        warning = f"the auth token file {path} can be read by other users; chmod 600 it"
    return _checked(text, str(path)), warning


def runtime_directory() -> Path:
    """A directory only this user can enter: ``$XDG_RUNTIME_DIR/fireside``, else ``~/.cache/fireside/run``."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and Path(runtime).is_dir():
        directory = Path(runtime) / "fireside"
    else:
        directory = Path.home() / ".cache" / "fireside" / "run"
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = directory.lstat()
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise AuthSetupError(f"{directory} is not a directory owned by this user; cannot keep the auth token there")
    if info.st_mode & 0o077:
        directory.chmod(0o700)
    return directory


def write_token_file(value: str, name: str, directory: Path | None = None) -> Path:
    """Write ``value`` to ``directory/name`` with mode 0600, atomically (no moment with other permissions)."""
    directory = directory or runtime_directory()
    descriptor, temporary = tempfile.mkstemp(dir=directory, prefix=".token-")  # created 0600
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(value + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        target = directory / name
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    return target


def load_token(token_file: str | None, file_name: str, environ: dict[str, str] | None = None) -> tuple[AuthToken, list[str]]:
    """The server's token and warnings for stderr. ``file_name`` names a generated token's file."""
    environ = dict(os.environ) if environ is None else environ
    warnings: list[str] = []
    if token_file:
        path = Path(token_file).expanduser()
        value, warning = token_from_file(path)
        if warning:
            warnings.append(warning)
        if environ.get(AUTH_TOKEN_ENV):
            warnings.append(f"--auth-token-file is used; {AUTH_TOKEN_ENV} is ignored")
        return AuthToken(value, f"the file {path}"), warnings
    if environ.get(AUTH_TOKEN_ENV):
        return AuthToken(_checked(environ[AUTH_TOKEN_ENV], AUTH_TOKEN_ENV), f"the environment variable {AUTH_TOKEN_ENV}"), warnings
    value = secrets.token_urlsafe(32)
    try:
        path = write_token_file(value, file_name)
    except OSError as error:
        raise AuthSetupError(f"cannot write the generated auth token: {error}") from None
    return AuthToken(value, f"the file {path}", generated_file=path), warnings
