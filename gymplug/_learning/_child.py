"""The learning child: import one source with gymplug and the host's eager loader off, and report what it registered.

Run by path (``python _child.py ARGS``) by :mod:`gymplug._learning._children`, never imported: it imports
nothing of gymplug. argv[1] is a JSON object: ``path`` (the importer's sys.path), ``modules`` and ``fallback``
(imported when ``modules`` registered nothing), ``registration`` and ``eager`` (the host's registration module
and the name of its eager plugin loader, disabled), ``limit`` (seconds), ``report_limit`` (bytes), ``parent``
(the pid of the process that started it), ``lifeline`` (a pipe's read end, or -1), ``watch`` and
``death_signal``.

With ``watch`` (POSIX) this process is only a watcher, the leader of a session of its own: it forks the
importer, so that the importer's ``getppid()`` names the watcher and never the user's process, and it kills
the whole session (importer and everything it started) when the importer is done, when ``limit`` runs out,
when the lifeline reaches EOF or the parent is gone (on Linux a parent-death signal wakes it), or when it is
signalled (by the imported code: the user's process never sees that signal). It is a process of its own, so
an importer stuck in a C call that holds the GIL cannot stop it. Lines on the original stdout: ``R`` + the
importer's JSON report, then ``W`` + the watcher's JSON status. Whatever the imported code prints goes to stderr.
"""

from __future__ import annotations

import gc
import json
import math
import os
import sys
import time

TYPE_CHECKING = False  # typing costs every child milliseconds; mypy reads this name as typing's
if TYPE_CHECKING:
    from importlib.machinery import ModuleSpec
    from types import ModuleType
    from typing import Optional, Sequence

_write = os.write  # bound now: the imported code may replace what it likes
_exit = os._exit
_encode = json.JSONEncoder(allow_nan=False, check_circular=False, separators=(",", ":")).encode
_REQUIRED = object()  # a field without a default (gym 0.26's entry_point)
_MAX_DEPTH = 12  # of a spec field's value
_MAX_SPEC = 1 << 16  # characters of one id's spec, about its JSON size
_MAX_INT = 1 << 64  # larger ints do not survive every JSON reader (and str() of a huge int is refused)
_ARM_AFTER = 0.5  # seconds before the watcher arms the parent-death signal (Linux)


def _line(exc: BaseException) -> str:
    """``Type: message`` on one line, whatever the exception's ``__str__`` or class does."""
    try:
        name = type(exc).__name__
        name = name if type(name) is str else "Exception"
    except BaseException:
        name = "Exception"
    try:
        text = str(exc)[:2000]
    except BaseException:
        text = "(its message could not be read)"
    text = " ".join((text.strip().splitlines() or [""])[0].split())  # the first line: the summary
    return name + (": " + text if text else "")


def _plain(value: object, depth: int = 0) -> int:
    """The size of ``value`` if it is plain data that JSON gives back equal and of the same types, else -1."""
    kind = type(value)
    if value is None or kind is bool:
        return 5
    if kind is int:
        return 24 if -_MAX_INT < value < _MAX_INT else -1  # type: ignore[operator]
    if kind is float:
        return 24 if math.isfinite(value) else -1  # type: ignore[arg-type]
    if kind is str:
        try:
            value.encode("utf-8")  # type: ignore[attr-defined]
        except UnicodeError:  # a lone surrogate: no file or terminal takes it
            return -1
        return len(value) + 2  # type: ignore[arg-type]
    if depth >= _MAX_DEPTH or kind not in (list, dict):
        return -1
    total = 2
    pairs = value.items() if kind is dict else (("", item) for item in value)  # type: ignore[attr-defined]
    for key, item in pairs:
        size = _plain(item, depth + 1)
        if size < 0 or type(key) is not str or _plain(key) < 0:  # a key that is no str would come back as one
            return -1
        total += size + len(key) + 3
        if total > _MAX_SPEC:
            return -1
    return total


def _same(value: object, default: object) -> bool:
    if default is _REQUIRED or type(value) is not type(default):
        return False
    try:
        return bool(value == default)
    except Exception:
        return False


def _spec_fields(cls: type) -> list[tuple[str, object]] | None:
    """(name, default) of the host's EnvSpec init fields but ``id``; None if it is no dataclass."""
    import dataclasses

    if not dataclasses.is_dataclass(cls):
        return None
    found = []
    for field in dataclasses.fields(cls):
        if not field.init or field.name == "id":
            continue
        if field.default is not dataclasses.MISSING:
            default = field.default
        elif field.default_factory is not dataclasses.MISSING:
            default = field.default_factory()
        else:
            default = _REQUIRED
        found.append((field.name, default))
    return found


def _spec(env_id: str, spec: object, cls: type, fields: list[tuple[str, object]]) -> dict[str, object] | None:
    """The init fields of ``spec`` that differ from the defaults, if all are plain, else None."""
    if type(spec) is not cls or getattr(spec, "id", None) != env_id:
        return None
    if type(getattr(spec, "entry_point", None)) is not str:  # a callable: the id stays a hint
        return None
    out = {}
    total = 0
    for name, default in fields:
        value = getattr(spec, name)
        if name != "entry_point" and _same(value, default):
            continue
        size = _plain(value)
        total += size
        if size < 0 or total > _MAX_SPEC:
            return None
        out[name] = value
    return out


def _keys(registry: object) -> list:
    for _ in range(3):  # a thread the imported code started may be registering as we read
        try:
            return list(registry)  # type: ignore[call-overload]
        except RuntimeError:
            continue
    return list(registry)  # type: ignore[call-overload]


def _disable_eager(args: dict) -> None:
    """The host's eager plugin loader must not run: plugins in its group are not this source's to import."""

    class Finder:
        def find_spec(self, fullname: str, path: Optional[Sequence[str]] = None,
                      target: Optional[ModuleType] = None) -> Optional[ModuleSpec]:
            if fullname != args["registration"]:
                return None
            for finder in sys.meta_path:
                find = getattr(finder, "find_spec", None)
                spec = None if finder is self or find is None else find(fullname, path, target)
                if spec is not None:
                    break
            else:
                return None
            real = getattr(spec.loader, "exec_module", None)
            if real is None:
                return spec

            def exec_module(module: ModuleType) -> None:
                real(module)
                if args["eager"] and hasattr(module, args["eager"]):
                    setattr(module, args["eager"], lambda *a, **k: None)

            spec.loader.exec_module = exec_module
            return spec

    sys.meta_path.insert(0, Finder())


def _learn(args: dict) -> dict:
    """Import the source's modules, then the fallback ones if they registered nothing; what registered what."""
    import importlib

    out: dict = {"ids": [], "specs": {}, "modules": [], "error": None}
    _disable_eager(args)
    try:
        registration = importlib.import_module(args["registration"])
        registry = registration.registry
        seen = set(_keys(registry))
    except BaseException as exc:
        out["error"] = "cannot import %s: %s" % (args["registration"], _line(exc))
        return out
    ids: list = out["ids"]
    for group in (args["modules"], args["fallback"]):
        for name in group:
            try:
                importlib.import_module(name)
            except BaseException as exc:  # SystemExit and KeyboardInterrupt too: the ids it registered count
                out["error"] = out["error"] or "import %s: %s" % (name, _line(exc))
            try:
                new = [k for k in _keys(registry) if k not in seen and isinstance(k, str)]
            except BaseException as exc:
                out["error"] = out["error"] or "reading %s.registry: %s" % (args["registration"], _line(exc))
                return out
            if new:
                out["modules"].append(name)
                ids.extend(str(k) for k in new)
                seen.update(new)
        if ids:
            break
    try:
        cls = registration.EnvSpec
        fields = _spec_fields(cls)
    except BaseException:
        fields = None
    for env_id in ids if fields is not None else ():
        try:
            spec = _spec(env_id, registry.get(env_id), cls, fields)  # type: ignore[arg-type]
        except BaseException:  # a property of a hostile spec
            spec = None
        if spec is not None:
            out["specs"][env_id] = spec
    return out


def _report(args: dict, chan: int) -> None:
    """The importer: learn, write the report to ``chan``, and exit at once (no atexit, no waiting for threads)."""
    pid = os.getpid()
    try:
        out = _learn(args)
    except BaseException as exc:
        out = {"ids": [], "specs": {}, "modules": [], "error": "learning failed: " + _line(exc)}
    if os.getpid() != pid:  # the imported code forked, and this is the copy: the original reports
        _exit(0)
    try:
        data = _encode(out)
        if len(data) > args["report_limit"]:  # the specs go first: the ids stay hints
            out["specs"] = {}
            data = _encode(out)
        if len(data) > args["report_limit"]:
            sizes = (len(out["ids"]), len(data) / (1 << 20), args["report_limit"] / (1 << 20))
            error = "report too large (%d ids, %.3g MB; the limit is %.3g MB)" % sizes
            data = _encode({"ids": [], "specs": {}, "modules": [], "error": error})
    except BaseException as exc:
        data = _encode({"ids": [], "specs": {}, "modules": [], "error": "learning failed: " + _line(exc)})
    raw = b"R" + data.encode("ascii") + b"\n"
    while raw:
        raw = raw[_write(chan, raw) :]
    _exit(0)


def _import_here(args: dict) -> None:
    chan = os.dup(1)  # not inheritable: what the imported code starts cannot write the report
    os.dup2(2, 1)  # what the imported code prints goes to stderr
    sys.path[:] = args["path"]
    _report(args, chan)


def _parent_death_signal(signum: int) -> None:
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None).prctl(1, signum, 0, 0, 0)  # PR_SET_PDEATHSIG
        except Exception:  # no libc to call: the lifeline still works
            pass


def _watch(args: dict) -> None:
    """Fork the importer and watch it, the parent and the clock; kill the session when any says so."""
    import select
    import signal

    pid, reaped = 0, False

    def die() -> None:
        # The importer by its id too (it may have left the group: setsid), but never once reaped: its id may
        # be another process's by then (and killing it raised here, a traceback in place of its last words).
        if pid > 0 and not reaped:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        try:
            os.killpg(0, signal.SIGKILL)  # this session's group: the importer, what it started, and this watcher
        except OSError:
            pass
        _exit(137)

    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)  # each signal writes its number: the loop below reads which arrived
    caught = [signal.SIGCHLD, signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1,
              signal.SIGUSR2, signal.SIGALRM]
    for signum in caught:
        signal.signal(signum, lambda *_: None)
    lifeline = args["lifeline"]
    gc.freeze()  # the importer's collections then leave these objects, and the pages they share, untouched
    pid = os.fork()
    if pid == 0:  # the importer
        signal.set_wakeup_fd(-1)
        for signum in caught:
            signal.signal(signum, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for fd in (wake_r, wake_w, lifeline):
            if fd >= 0:
                os.close(fd)
        _import_here(args)
    if os.getppid() != args["parent"]:  # the parent died before the lifeline was watched
        die()
    poller = select.poll()
    poller.register(wake_r, select.POLLIN)
    if lifeline >= 0:
        poller.register(lifeline, select.POLLIN)
    now = time.monotonic()
    end = now + args["limit"]
    # Armed once the import has taken a while: most are over by then, and ctypes costs milliseconds. Until
    # then the lifeline alone tells (a caller that leaks it into a fork it did not see is caught at arming).
    arm = now + _ARM_AFTER if args["death_signal"] else math.inf
    status = None
    while status is None:
        now = time.monotonic()
        if now >= arm:
            arm = math.inf
            _parent_death_signal(signal.SIGHUP)
            if os.getppid() != args["parent"]:  # the parent died before the signal was armed
                die()
        if now >= end:
            status = {"timeout": args["limit"]}
            break
        events = poller.poll(int((min(end, arm) - now) * 1000) + 1)
        signals = b""
        for fd, _ in events:
            if fd == lifeline:  # EOF: the parent is gone (it never writes)
                die()
            signals += os.read(wake_r, 512)
        if os.getppid() != args["parent"]:
            die()
        others = [s for s in signals if s != signal.SIGCHLD]
        if others:
            status = {"signalled": others[0]}
            break
        done, code = os.waitpid(pid, os.WNOHANG)
        if done:
            reaped = True
            status = {"exit": os.waitstatus_to_exitcode(code)}
    raw = b"\nW" + _encode(status).encode("ascii") + b"\n"
    while raw:
        raw = raw[_write(1, raw) :]
    die()


if __name__ == "__main__":
    _args = json.loads(sys.argv[1])
    if _args["watch"] and hasattr(os, "fork"):
        _watch(_args)
    _import_here(_args)
