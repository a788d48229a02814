"""``gymplug run``: roll out a random policy, optionally recording every episode."""

from __future__ import annotations

import argparse
import contextlib
import sys
import warnings
from pathlib import Path
from typing import Any, Optional

from .._errors import GymplugError, RecordingError
from .._video import RECORD_INSTALL, VideoRecorder, prepare_folder, remove_if_empty
from ._args import add_kwargs_options, make_kwargs, positive_int
from ._hosts import describe_error, find_env
from ._output import (
    EXIT_OK,
    JSON_FORMAT,
    CommandError,
    Progress,
    emit_json,
    paint,
    plural,
    say,
    stdout_to_stderr,
    use_color,
)

__all__ = ["add_parser"]


def _render_modes(env: Any) -> list[str]:
    return list(getattr(env.unwrapped, "metadata", {}).get("render_modes", []))


def _no_rgb_array(env_id: str, modes: list[str]) -> RecordingError:
    shown = ", ".join(modes) if modes else "none"
    return RecordingError(f"cannot record {env_id}: it has no 'rgb_array' render mode (its render modes: {shown})")


def make_env(module: Any, env_id: str, options: dict[str, Any], record: bool) -> Any:
    """Make the env; for a recording, with rgb_array rendering, or a RecordingError naming what is missing."""
    if not record:
        with stdout_to_stderr():
            return module.make(env_id, **options)
    # The host warns (or the env raises) about a render mode it does not have: say it once, in our words.
    with stdout_to_stderr(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            env = module.make(env_id, render_mode="rgb_array", **options)
        except Exception:
            probe = module.make(env_id, **options)
            modes = _render_modes(probe)
            with contextlib.suppress(Exception):
                probe.close()
            if "rgb_array" not in modes:
                raise _no_rgb_array(env_id, modes) from None
            raise
    modes = _render_modes(env)
    if "rgb_array" not in modes:
        with contextlib.suppress(Exception):
            env.close()
        raise _no_rgb_array(env_id, modes)
    return env


def rollout(args: argparse.Namespace, env: Any, recorder: Optional[VideoRecorder]) -> list[dict[str, Any]]:
    progress = Progress(quiet=args.quiet, json=args.json)
    try:
        return [_episode(args, env, recorder, episode, progress) for episode in range(args.episodes)]
    finally:
        progress.clear()  # an error or Ctrl-C starts on a line of its own


def _episode(args: argparse.Namespace, env: Any, recorder: Optional[VideoRecorder], episode: int,
             progress: Progress) -> dict[str, Any]:
    if episode == 0:
        env.action_space.seed(args.seed)
    env.reset(seed=None if args.seed is None else args.seed + episode)
    if recorder:
        recorder.start(episode + 1)
        recorder.frame(env.render())
    total, length, done = 0.0, 0, False
    while not done:
        _, reward, terminated, truncated, _ = env.step(env.action_space.sample())
        total += float(reward)
        length += 1
        done = terminated or truncated
        if recorder:
            recorder.frame(env.render())
        if length % 50 == 0:
            progress.show(f"episode {episode + 1}/{args.episodes}: step {length}")
    if recorder:
        progress.show(f"episode {episode + 1}/{args.episodes}: finishing the video")
        recorder.finish()
    progress.clear()
    if not args.json:
        say(args.quiet, f"episode {episode + 1}: return {total:.3f}, length {length}")
    return {"episode": episode + 1, "return": total, "length": length}


def _recorded(args: argparse.Namespace, recorder: Optional[VideoRecorder]) -> list[str]:
    videos = [str(p) for p in recorder.paths] if recorder else []
    if not args.json:
        for path in videos:
            say(args.quiet, f"recorded {path}")
    return videos


def cmd_run(args: argparse.Namespace) -> int:
    options: dict[str, Any] = dict(make_kwargs(args))
    if args.max_steps is not None:
        options["max_episode_steps"] = args.max_steps
    made = prepare_folder(Path(args.record)) if args.record else []
    recorder: Optional[VideoRecorder] = None
    host: Optional[str] = None
    env_id = args.id
    env = None
    try:
        found = find_env(args.id, args.host)
        host, env_id = found.host, found.env_id
        env = make_env(sys.modules[host], env_id, options, bool(args.record))
        if args.record:
            fps = int(getattr(env.unwrapped, "metadata", {}).get("render_fps") or 30)
            recorder = VideoRecorder(Path(args.record), env_id, fps)
        episodes = rollout(args, env, recorder)
    except BaseException as exc:
        if recorder:
            recorder.abort()  # a video cut short is deleted, never left under its final name
            _recorded(args, recorder)  # the episodes that did finish
        if isinstance(exc, Exception) and not isinstance(exc, GymplugError):
            raise CommandError(describe_error(exc, host)) from exc
        raise
    finally:
        if env is not None:
            with contextlib.suppress(Exception):
                env.close()
        remove_if_empty(made)
    if args.json:
        payload = {"format": JSON_FORMAT, "id": env_id, "host": host, "episodes": episodes}
        emit_json({**payload, "videos": [str(p) for p in recorder.paths] if recorder else []})
        return EXIT_OK
    mean = sum(e["return"] for e in episodes) / len(episodes)
    summary = f"{plural(len(episodes), 'episode')} of {env_id}: mean return {mean:.3f}"
    say(args.quiet, paint(summary, "ok", use_color()))
    _recorded(args, recorder)
    return EXIT_OK


def add_parser(sub: Any, parents: list) -> None:
    p = sub.add_parser(
        "run",
        parents=parents,
        help="roll out a random policy, optionally recording videos",
        description="Random-policy episodes of ID, with each episode's return and length. --record saves a video of "
        f"every episode through rgb_array rendering, headless ({RECORD_INSTALL}). An episode cut short (Ctrl-C) "
        "leaves no video; the finished ones are listed.",
        epilog="examples:\n  gymplug run foo-v0 --episodes 3 --seed 0\n  gymplug run Grid/Maze-v0 --record videos\n"
        "  gymplug run Grid/Empty-v0 -k layout=corridor --max-steps 20",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("id", metavar="ID", help="an environment id, as for make(): foo-v0, Grid/Maze-v0, module:id")
    p.add_argument("--episodes", type=positive_int, default=1, metavar="N", help="number of episodes (default 1)")
    p.add_argument("--seed", type=int, default=None, metavar="S", help="seed of the first episode (episode k: S+k)")
    p.add_argument("--max-steps", type=positive_int, default=None, metavar="N", help="truncate episodes after N steps")
    p.add_argument("--record", metavar="DIR", help="save an mp4 of every episode in DIR")
    add_kwargs_options(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_run)
