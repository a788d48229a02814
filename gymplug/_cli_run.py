"""``gymplug check`` and ``gymplug run``: make environments and step them with a random policy."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any, Optional

from ._cli import (
    EXIT_OK,
    EXIT_PROBLEM,
    JSON_FORMAT,
    CommandError,
    attach,
    emit_json,
    find_env,
    paint,
    selected_hosts,
    stdout_to_stderr,
    table,
    use_color,
)
from ._entries import normalize_name

__all__ = ["add_parsers"]

RECORD_INSTALL = "pip install 'gymplug[record]'"


def _checker(host: str) -> Any:
    module = __import__(f"{host}.utils.env_checker", fromlist=["check_env"])
    return module.check_env


def _observations_equal(a: Any, b: Any) -> bool:
    import numpy as np

    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_observations_equal(a[k], b[k]) for k in a)
    if isinstance(a, tuple):
        return len(a) == len(b) and all(_observations_equal(x, y) for x, y in zip(a, b))
    return bool(np.array_equal(np.asarray(a), np.asarray(b)))


def check_one(host: str, env_id: str, steps: int) -> Optional[str]:
    """None if ``env_id`` passes; else what failed, on one line."""
    module = sys.modules[host]
    stage = "make"
    env = None
    try:
        with stdout_to_stderr(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            env = module.make(env_id, disable_env_checker=True)
            stage = "env checker"
            _checker(host)(env.unwrapped, skip_render_check=True)
            stage = "reset(seed=0)"
            first, _ = env.reset(seed=0)
            again, _ = env.reset(seed=0)
            if not _observations_equal(first, again):
                return "reset(seed=0) twice gave different observations: seeding is not reproducible"
            if not env.observation_space.contains(first):
                return "the reset observation is outside the observation space"
            env.action_space.seed(0)
            for i in range(steps):
                stage = f"step {i + 1}"
                result = env.step(env.action_space.sample())
                if len(result) != 5:
                    return f"step() returned {len(result)} values, not (obs, reward, terminated, truncated, info)"
                obs, _, terminated, truncated, _ = result
                if not env.observation_space.contains(obs):
                    return f"the observation of step {i + 1} is outside the observation space"
                if terminated or truncated:
                    env.reset()
        return None
    except Exception as exc:
        return f"{stage}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".rstrip(": ")
    finally:
        if env is not None:
            with contextlib.suppress(Exception):
                env.close()


def cmd_check(args: argparse.Namespace) -> int:
    if args.steps < 0:
        raise CommandError("--steps must be 0 or more")
    targets: list[tuple[str, str]] = []
    if args.ids:
        for env_id in args.ids:
            host, _ = find_env(env_id, args.host)
            targets.append((host, env_id))
    else:
        for host in selected_hosts(args.host):
            manager = attach(host)
            with stdout_to_stderr():
                manager.load_all()
            for env_id, declaration in sorted(manager.owners.items()):
                if not args.plugin or normalize_name(declaration.dist.name) == normalize_name(args.plugin):
                    targets.append((host, env_id))
        if not targets:
            raise CommandError("no plugin environments to check" + (f" from {args.plugin}" if args.plugin else ""))
    results = [(host, env_id, check_one(host, env_id, args.steps)) for host, env_id in targets]
    failed = [r for r in results if r[2] is not None]
    if args.json:
        emit_json({"format": JSON_FORMAT, "results": [{"id": i, "host": h, "ok": e is None, "error": e} for h, i, e in results]})
    else:
        print(table(("ID", "HOST", "RESULT", "DETAIL"), [(i, h, "ok" if e is None else "FAIL", e or "") for h, i, e in results], color_column=2))
        print(f"{len(results) - len(failed)} passed, {len(failed)} failed", file=sys.stderr)
    return EXIT_PROBLEM if failed else EXIT_OK


class VideoRecorder:
    """Writes each episode's rgb_array frames to ``DIR/<id>-episode-<n>.mp4`` with imageio-ffmpeg (headless)."""

    def __init__(self, folder: Path, env_id: str, fps: int) -> None:
        try:
            import imageio_ffmpeg
        except ImportError:
            raise CommandError(f"--record needs imageio-ffmpeg: {RECORD_INSTALL}") from None
        self._ffmpeg = imageio_ffmpeg
        self.folder = folder
        self.stem = env_id.replace("/", "_")
        self.fps = fps
        self.paths: list[Path] = []
        self._writer: Any = None

    @staticmethod
    def prepare(folder: Path) -> None:
        """Fail early, on one line, if ``folder`` cannot hold recordings."""
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=folder, prefix=".gymplug-write-test-"):
                pass
        except OSError as exc:
            raise CommandError(f"cannot write recordings to {folder}: {exc.strerror or exc}") from None

    def start(self, episode: int) -> None:
        self.close()
        self._path = self.folder / f"{self.stem}-episode-{episode}.mp4"
        # Written under a hidden name, renamed when complete: a video on disk is always whole.
        self._partial = self.folder / f".{self._path.name}.partial"
        self._writer = None

    def frame(self, frame: Any) -> None:
        import numpy as np

        frame = np.ascontiguousarray(frame, dtype=np.uint8)
        if self._writer is None:
            height, width = frame.shape[:2]
            self._writer = self._ffmpeg.write_frames(
                str(self._partial), (width, height), fps=self.fps, macro_block_size=1, ffmpeg_log_level="error", output_params=["-f", "mp4"]
            )
            self._writer.send(None)
        self._writer.send(frame)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
            os.chmod(self._partial, 0o644)  # whatever the umask: never world-writable
            os.replace(self._partial, self._path)
            self.paths.append(self._path)


def cmd_run(args: argparse.Namespace) -> int:
    if args.episodes < 1:
        raise CommandError("--episodes must be 1 or more")
    if args.max_steps is not None and args.max_steps < 1:
        raise CommandError("--max-steps must be 1 or more")
    recorder = None
    if args.record:
        folder = Path(args.record)
        VideoRecorder.prepare(folder)
    host, _ = find_env(args.id, args.host)
    module = sys.modules[host]
    options: dict[str, Any] = {}
    if args.max_steps is not None:
        options["max_episode_steps"] = args.max_steps
    if args.record:
        options["render_mode"] = "rgb_array"
    with stdout_to_stderr():
        env = module.make(args.id, **options)
    if args.record:
        fps = int(env.unwrapped.metadata.get("render_fps") or 30)
        recorder = VideoRecorder(Path(args.record), args.id, fps)
    progress = sys.stderr.isatty() and not args.json and not args.quiet
    episodes = []
    try:
        env.action_space.seed(args.seed)
        for episode in range(args.episodes):
            obs, _ = env.reset(seed=None if args.seed is None else args.seed + episode)
            if recorder:
                recorder.start(episode + 1)
                recorder.frame(env.render())
            total, length, done = 0.0, 0, False
            while not done:
                obs, reward, terminated, truncated, _ = env.step(env.action_space.sample())
                total += float(reward)
                length += 1
                done = terminated or truncated
                if recorder:
                    recorder.frame(env.render())
                if progress and length % 50 == 0:
                    print(f"\repisode {episode + 1}/{args.episodes}: step {length}", end="", file=sys.stderr, flush=True)
            if recorder:
                recorder.close()
            episodes.append({"episode": episode + 1, "return": total, "length": length})
            if progress:
                print("\r\033[K", end="", file=sys.stderr)
            if not args.json:
                print(f"episode {episode + 1}: return {total:.3f}, length {length}")
    finally:
        if recorder:
            recorder.close()
        with contextlib.suppress(Exception):
            env.close()
    videos = [str(p) for p in recorder.paths] if recorder else []
    if args.json:
        emit_json({"format": JSON_FORMAT, "id": args.id, "host": host, "episodes": episodes, "videos": videos})
    else:
        mean = sum(e["return"] for e in episodes) / len(episodes)
        summary = f"{len(episodes)} episodes of {args.id}: mean return {mean:.3f}"
        print(paint(summary, "ok", use_color()) if not args.quiet else summary)
        for path in videos:
            print(f"recorded {path}")
    return EXIT_OK


def add_parsers(sub: Any, parents: list) -> None:
    p = sub.add_parser(
        "check",
        parents=parents,
        help="make environments and check that they follow the API",
        description="For each env: make it, run the host's env checker, reset(seed=0) twice (same observation), "
        "and N random steps with observations inside the observation space. Exit 1 if any fails.",
    )
    p.add_argument("ids", nargs="*", metavar="ID", help="environment ids (default: every plugin environment)")
    p.add_argument("--plugin", metavar="DIST", help="only the environments of this distribution")
    p.add_argument("--steps", type=int, default=100, metavar="N", help="random steps per environment (default 100)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser(
        "run",
        parents=parents,
        help="roll out a random policy, optionally recording videos",
        description="Random-policy episodes of ID, with each episode's return and length. --record saves a video of "
        f"every episode through rgb_array rendering, headless ({RECORD_INSTALL}).",
    )
    p.add_argument("id", metavar="ID")
    p.add_argument("--episodes", type=int, default=1, metavar="N", help="number of episodes (default 1)")
    p.add_argument("--seed", type=int, default=None, metavar="S", help="seed of the first episode (episode k: S+k)")
    p.add_argument("--max-steps", type=int, default=None, metavar="N", help="truncate episodes after N steps")
    p.add_argument("--record", metavar="DIR", help="save an mp4 of every episode in DIR")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_run)
