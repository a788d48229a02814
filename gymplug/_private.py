"""Private files: JSON read and written under the cache's rules (the user's own, never others' to write).

The discovery cache and the learned store are such files. On POSIX a file or directory that is not
the user's own, or that others can write, is never read nor written into; only a regular file is
opened (never through a symlink, never blocking on a FIFO); nothing over 64 MiB is read or written;
a write goes to a temporary file (0600) in a 0700 directory, then is renamed over the target.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
import time
from typing import Any, Optional

from ._log import get_logger

__all__ = [
    "MAX_BYTES",
    "read_private_json",
    "trusted",
    "unwritable_reason",
    "write_private_json",
    "write_private_text",
]

logger = get_logger(__name__)

MAX_BYTES = 64 * 2**20  # neither read nor written beyond this
_STALE_TMP_S = 10 * 60  # a temporary file this old belongs to a writer that was killed
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)


def trusted(st: os.stat_result) -> bool:
    """Is this the user's own, and not writable by group or others? (Always, where there are no owners.)"""
    if os.name != "posix":
        return True
    return st.st_uid == os.getuid() and not st.st_mode & 0o022


def read_private_json(path: str) -> Optional[Any]:
    """The JSON value in ``path``, or None if it is absent, unsafe to read or not sensible JSON. Never raises.

    The directory must be the user's own and not writable by others (POSIX); the file is opened
    without following a symlink and without blocking (a FIFO would hang the reader), then must be a
    regular file, the user's own, not writable by others and at most 64 MiB.
    """
    try:
        if not trusted(os.stat(os.path.dirname(path) or ".")):
            logger.warning("ignoring %s: its directory is not the user's own, or writable by others", path)
            return None
        fd = os.open(path, _OPEN_FLAGS)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:  # ELOOP for a symlink; ValueError for a NUL in the path
        logger.info("ignoring %s: %s", path, exc)
        return None
    try:
        with open(fd, "rb") as file:
            st = os.fstat(file.fileno())
            if not stat.S_ISREG(st.st_mode) or not trusted(st):
                logger.warning("ignoring %s: not a regular file of the user's own, or writable by others", path)
                return None
            if st.st_size > MAX_BYTES:
                logger.info("ignoring %s: larger than %d bytes", path, MAX_BYTES)
                return None
            data = file.read(MAX_BYTES + 1)
        if len(data) > MAX_BYTES:
            return None
        return json.loads(data)
    except Exception as exc:  # RecursionError, UnicodeDecodeError, MemoryError for absurd input: all mean "rebuild"
        logger.info("ignoring %s: %s: %s", path, type(exc).__name__, exc)
        return None


def write_private_json(path: str, data: Any) -> bool:
    """Write ``data`` as JSON to ``path`` atomically (0600 file, 0700 directory); False if it was not. Never raises."""
    try:
        text = json.dumps(data, separators=(",", ":"), allow_nan=False)  # NaN is not JSON: no reader may see it
    except Exception as exc:  # not JSON-serializable, nested too deeply, or a NaN
        logger.info("not writing %s: %s", path, exc)
        return False
    return write_private_text(path, text)


def write_private_text(path: str, text: str) -> bool:
    """Write ``text`` to ``path`` atomically (0600 file, 0700 directory); False if it was not. Never raises."""
    if len(text) > MAX_BYTES:  # a bound on characters; what is read is bounded on bytes
        logger.info("not writing %s: larger than %d bytes", path, MAX_BYTES)
        return False
    try:
        directory = os.path.dirname(path) or "."
        os.makedirs(directory, mode=0o700, exist_ok=True)
        if not trusted(os.stat(directory)):
            logger.warning("not writing %s: %s is not the user's own, or writable by others", path, directory)
            return False
        _remove_stale_temporaries(directory)
        stem = os.path.splitext(os.path.basename(path))[0]
        fd, temporary = tempfile.mkstemp(prefix=f".{stem}-", suffix=".tmp", dir=directory)  # mode 0600
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                file.write(text)
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise
    except Exception as exc:  # OSError mostly; ValueError for a NUL in the path
        logger.info("could not write %s: %s", path, exc)
        return False
    return True


def unwritable_reason(path: str) -> Optional[str]:
    """Why :func:`write_private_text` could not write ``path`` now, or None if nothing stands in the way.

    A few stats, no write: the directory (or, when it is missing, the nearest existing one above it)
    must be a directory that can be written, the user's own and not writable by others; ``path``
    must not be a directory.
    """
    directory = os.path.dirname(path) or "."
    try:
        st = os.stat(directory)
    except FileNotFoundError:
        parent = directory
        while True:
            above = os.path.dirname(parent)
            if above == parent:
                return f"{directory} cannot be created"
            parent = above
            try:
                st = os.stat(parent)
                break
            except FileNotFoundError:
                continue
            except (OSError, ValueError) as exc:
                return f"{directory} cannot be created: {exc}"
        if not stat.S_ISDIR(st.st_mode):
            return f"{directory} cannot be created: {parent} is not a directory"
        if not os.access(parent, os.W_OK | os.X_OK):
            return f"{directory} cannot be created: {parent} is read-only"
        return None
    except (OSError, ValueError) as exc:  # ENOTDIR: a file stands where a directory is needed
        return f"{directory} cannot be used: {exc}"
    if not stat.S_ISDIR(st.st_mode):
        return f"{directory} is not a directory"
    if not trusted(st):
        return f"{directory} is not the user's own, or others can write to it"
    if not os.access(directory, os.W_OK | os.X_OK):
        return f"{directory} is read-only"
    try:
        if stat.S_ISDIR(os.lstat(path).st_mode):
            return f"{path} is a directory"
    except (OSError, ValueError):
        pass
    return None


def _remove_stale_temporaries(directory: str) -> None:
    """Remove ``.*.tmp`` files of writers that were killed before they renamed them (older than ten minutes)."""
    limit = time.time() - _STALE_TMP_S
    for name in os.listdir(directory):
        if not (name.startswith(".") and name.endswith(".tmp")):
            continue
        path = os.path.join(directory, name)
        try:
            st = os.lstat(path)
            if stat.S_ISREG(st.st_mode) and st.st_mtime < limit and (os.name != "posix" or st.st_uid == os.getuid()):
                os.unlink(path)
        except OSError:
            pass  # another writer removed it first
