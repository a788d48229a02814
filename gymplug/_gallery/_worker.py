"""A gallery worker's program (run by path): make envs, roll out a random policy, and encode previews.

Started by :mod:`gymplug._gallery._pool` as ``python _worker.py '<json>'``. Its protocol is one JSON
line per task on the original stdin and one JSON line per answer on the original stdout; both are
moved to other descriptors first, so that what an env prints, reads or writes at fd 0 and 1 never
meets the protocol. It dies with its parent: a thread watches the parent's pid.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import json
import os
import re
import signal
import sys
import threading
import time
import warnings
from typing import IO, Any, Callable, Optional

_MAX_TEXT = 300


def _protocol_streams(verbose: bool) -> tuple[IO[bytes], IO[bytes]]:
    """The original stdin and stdout, moved aside; fd 0 becomes devnull, fd 1 stderr (or devnull)."""
    tasks = os.fdopen(os.dup(0), "rb")
    answers = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(2 if verbose else devnull, 1)
    if not verbose:
        os.dup2(devnull, 2)
    sys.stdin = open(os.devnull, encoding="utf-8")  # noqa: SIM115 - for the life of the process
    sys.stdout = sys.stderr
    return tasks, answers


def _watch_parent(parent: int) -> None:
    """Kill this worker and what it started as soon as the parent is gone (it never outlives the command)."""
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.2)
        if os.name == "posix":
            os.killpg(0, signal.SIGKILL)  # this worker leads its own session
        os._exit(1)

    if os.name == "posix":
        threading.Thread(target=watch, daemon=True, name="gymplug-gallery-watch").start()


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= _MAX_TEXT else line[: _MAX_TEXT - 1] + "…"


def _error(step: str, exc: BaseException) -> str:
    from gymplug._errors import one_line

    return _one_line(f"{step} failed: {one_line(exc)}")


def _failure(step: str, exc: BaseException) -> dict[str, Any]:
    """The answer for an exception of plugin code: a missing optional module (the hosts' DependencyNotInstalled,
    an ImportError) is no defect. A plugin that fails to import is not this: gymplug raises PluginLoadError."""
    needs = isinstance(exc, ImportError) or any(c.__name__ == "DependencyNotInstalled" for c in type(exc).__mro__)
    return {"outcome": "needs" if needs else "failed", "reason": _error(step, exc)}


def _text(value: Any) -> Optional[str]:
    from gymplug._errors import safe_str

    return None if value is None else _one_line(safe_str(value))


def summary(doc: str) -> Optional[str]:
    r"""The first sentence of a docstring's first paragraph of prose (Markdown and reST headings skipped).

    >>> summary("## Description\n\nA pole is attached, e.g. to a cart. It falls.\n\n## Actions")
    'A pole is attached, e.g. to a cart.'
    >>> summary("Title\n=====\n\nThe grid is 8 x 8.")
    'The grid is 8 x 8.'
    >>> summary("Based on [Sutton's work](https://example.org/a.html) and `a book <https://b>`_.")
    "Based on Sutton's work and a book."
    """
    for paragraph in re.split(r"\n\s*\n", doc):
        lines = [line.strip() for line in paragraph.strip().splitlines()]
        rules = {i for i, line in enumerate(lines) if line and not set(line) - set("=-~^*#:`+")}
        headings = rules | {i - 1 for i in rules}  # a reST heading is the line above its underline
        prose = [line for i, line in enumerate(lines)
                 if line and i not in headings and not line.startswith(("#", "..", ">>>", "|"))]
        if prose:
            text = " ".join(" ".join(prose).split())
            text = re.sub(r"\[([^\]]*)\]\([^)\s]*\)", r"\1", text)  # Markdown links: their text
            text = re.sub(r"`([^`<]*?)\s*<[^>`]*>`_+", r"\1", text)  # reST links likewise
            sentence = re.match(r"(.+?[.!?])(?=\s+[A-Z]|$)", text)
            return _one_line(sentence.group(1) if sentence else text)
    return None


def _spec_facts(host: Any, env_id: str) -> dict[str, Any]:
    try:
        spec = host.spec(env_id)
    except Exception:  # noqa: BLE001 - make() reports why, below
        return {}
    threshold = getattr(spec, "reward_threshold", None)
    steps = getattr(spec, "max_episode_steps", None)
    return {
        "max_episode_steps": steps if isinstance(steps, int) else None,
        "reward_threshold": threshold if isinstance(threshold, (int, float)) else None,
    }


def _env_facts(env: Any) -> dict[str, Any]:
    unwrapped = env.unwrapped
    cls = type(unwrapped)
    doc = inspect.getdoc(cls) or ""
    metadata = getattr(unwrapped, "metadata", None)
    modes = metadata.get("render_modes", []) if isinstance(metadata, dict) else []
    return {
        "description": summary(doc),
        "env_class": _text(f"{cls.__module__}.{cls.__qualname__}"),
        "observation_space": _text(getattr(env, "observation_space", None)),
        "action_space": _text(getattr(env, "action_space", None)),
        "render_modes": [_text(m) for m in modes] if isinstance(modes, (list, tuple)) else [],
    }


def _make(host: Any, env_id: str) -> tuple[Optional[Any], dict[str, Any]]:
    """(env rendering rgb_array, {}) or (None, the answer: no rgb_array, or why make failed)."""
    try:
        return host.make(env_id, render_mode="rgb_array"), {}
    except Exception as exc:  # noqa: BLE001 - plugin code: it may not take the argument at all
        failure = exc
    try:  # without rgb_array: is that why?
        probe = host.make(env_id)
    except Exception:  # noqa: BLE001
        return None, _failure("make", failure)
    try:
        facts = _env_facts(probe)
    finally:
        with contextlib.suppress(Exception):
            probe.close()
    if "rgb_array" in facts["render_modes"]:
        return None, {**facts, **_failure("make", failure)}
    return None, {**facts, **_no_rgb(facts["render_modes"])}


def _no_rgb(modes: list) -> dict[str, Any]:
    shown = ", ".join(str(m) for m in modes) if modes else "none"
    return {"outcome": "no-rgb", "reason": _one_line(f"no rgb_array render mode (render modes: {shown})")}


def _frames(env: Any, steps: int, seed: int, to_image: Callable[[Any], Any]) -> tuple[list, Optional[dict]]:
    """Images of a random rollout: the reset frame, then one per step; a new episode after each one ends."""
    stage = "reset"
    images: list = []
    try:
        env.action_space.seed(seed)
        env.reset(seed=seed)
        stage = "render"
        images.append(to_image(env.render()))
        for _ in range(steps):
            stage = "step"
            _, _, terminated, truncated, _ = env.step(env.action_space.sample())
            if terminated or truncated:
                stage = "reset"
                env.reset()
            stage = "render"
            images.append(to_image(env.render()))
    except Exception as exc:  # noqa: BLE001 - plugin code
        if type(exc).__name__ == "NotAnImage":
            return images, {"outcome": "failed", "reason": _one_line(str(exc))}
        return images, _failure(stage, exc)
    return images, None


def preview(task: dict[str, Any], steps: int, seed: int) -> dict[str, Any]:
    """Make ``task["id"]`` and write its preview to ``task["out"]``; the answer says what happened."""
    from gymplug._gallery import _frames as frames

    host = importlib.import_module(task["host"])
    answer: dict[str, Any] = _spec_facts(host, task["id"])
    env, failure = _make(host, task["id"])
    if env is None:
        return {**answer, **failure}
    try:
        answer.update(_env_facts(env))
        if "rgb_array" not in answer["render_modes"]:
            return {**answer, **_no_rgb(answer["render_modes"])}
        images, broke = _frames(env, steps, seed, frames.to_image)
        if broke is not None:
            return {**answer, **broke}
        metadata = getattr(env.unwrapped, "metadata", None)
        fps = metadata.get("render_fps") if isinstance(metadata, dict) else None
        encoded = frames.encode(images, fps if isinstance(fps, (int, float)) else None)
        if encoded is None:
            return {**answer, "outcome": "failed", "reason": f"no preview fits in {frames.MAX_BYTES // 1000} KB"}
        with open(task["out"], "wb") as out:
            out.write(encoded.data)
        return {**answer, "outcome": "ok", "format": encoded.format, "frames": encoded.frames,
                "width": encoded.size[0], "height": encoded.size[1], "bytes": len(encoded.data)}
    finally:
        with contextlib.suppress(Exception):
            env.close()


def main() -> None:
    options = json.loads(sys.argv[1])
    sys.path[:] = options["path"]
    tasks, answers = _protocol_streams(bool(options["verbose"]))
    _watch_parent(int(options["parent"]))
    warnings.simplefilter("ignore")  # hosts warn about every env that bends a rule: the card is the report

    def send(message: dict[str, Any]) -> None:
        answers.write(json.dumps(message, default=str).encode("utf-8", "replace") + b"\n")
        answers.flush()

    answers.write(b"\n")  # a line of its own, whatever the interpreter's start-up printed before
    try:
        import gymplug  # noqa: F401 - activates gymplug before any host is imported
        from gymplug._gallery import _frames  # noqa: F401 - Pillow: a missing one is said once, here

        for host in options["hosts"]:
            importlib.import_module(host)
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which stops
        send({"ready": False, "reason": _error("starting a worker", exc)})
        return
    send({"ready": True})
    for line in tasks:
        try:
            answer = preview(json.loads(line), int(options["steps"]), int(options["seed"]))
        except BaseException as exc:  # noqa: BLE001 - plugin code (SystemExit too): this card fails, the worker goes on
            answer = {"outcome": "failed", "reason": _error("preview", exc)}
        send(answer)


if __name__ == "__main__":
    main()
