"""Recording episodes to mp4 files, headless, with imageio-ffmpeg; a video on disk is always whole."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any, Optional

from ._errors import RecordingError

__all__ = ["RECORD_INSTALL", "VideoRecorder", "prepare_folder", "remove_if_empty"]

RECORD_INSTALL = "pip install 'gymplug[record]'"


def prepare_folder(folder: Path) -> list[Path]:
    """Make ``folder`` and check that it can hold recordings; return the folders made, outermost first."""
    made = [p for p in (folder, *folder.parents) if not p.exists()][::-1]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".gymplug-write-test-"):
            pass
    except OSError as exc:
        remove_if_empty(made)
        raise RecordingError(f"cannot write recordings to {folder}: {exc.strerror or exc}") from None
    return made


def remove_if_empty(folders: list[Path]) -> None:
    """Remove the folders this run made and left empty, innermost first."""
    for folder in reversed(folders):
        with contextlib.suppress(OSError):
            folder.rmdir()


class VideoRecorder:
    """Writes each episode's rgb_array frames to ``DIR/<id>-episode-<n>.mp4``.

    A video is written under a hidden ``.partial`` name and renamed when its episode ends; :meth:`abort`
    (on an interrupt or an error) deletes the unfinished one, so no file under a final name is ever cut short.
    """

    def __init__(self, folder: Path, env_id: str, fps: int) -> None:
        try:
            import imageio_ffmpeg
        except ImportError:
            raise RecordingError(f"--record needs imageio-ffmpeg: {RECORD_INSTALL}") from None
        self._ffmpeg = imageio_ffmpeg
        self.folder = folder
        self.stem = env_id.replace("/", "_")
        self.fps = fps
        #: the videos finished so far
        self.paths: list[Path] = []
        self._writer: Any = None
        self._path: Optional[Path] = None
        self._partial: Optional[Path] = None

    def start(self, episode: int) -> None:
        self.finish()
        self._path = self.folder / f"{self.stem}-episode-{episode}.mp4"
        self._partial = self.folder / f".{self._path.name}.partial"
        self._writer = None

    def frame(self, frame: Any) -> None:
        import numpy as np

        frame = np.ascontiguousarray(frame, dtype=np.uint8)
        if self._writer is None:
            height, width = frame.shape[:2]
            self._writer = self._ffmpeg.write_frames(
                str(self._partial), (width, height), fps=self.fps, macro_block_size=1,
                ffmpeg_log_level="error", output_params=["-f", "mp4"],
            )
            self._writer.send(None)
        self._writer.send(frame)

    def finish(self) -> None:
        """Complete the current video and give it its final name."""
        writer, partial, path = self._writer, self._partial, self._path
        if writer is not None and partial is not None and path is not None:
            # The partial file stays known until it has its final name: a Ctrl-C while the encoder
            # closes (it flushes for a while) leaves abort() a file to delete.
            self._writer = None
            writer.close()
            os.chmod(partial, 0o644)  # whatever the umask: never world-writable
            os.replace(partial, path)
            self._partial = None
            self.paths.append(path)

    def abort(self) -> None:
        """Drop the current video, unfinished: stop the encoder and delete its file."""
        writer, self._writer = self._writer, None
        if writer is not None:
            with contextlib.suppress(BaseException):  # ffmpeg may be gone already (Ctrl-C reaches it too)
                writer.close()
        partial, path = self._partial, self._path
        if partial is not None:
            if path is not None and not partial.exists() and path.exists():
                if path not in self.paths:  # renamed whole just before the interrupt: it counts
                    self.paths.append(path)
            else:
                with contextlib.suppress(OSError):
                    os.unlink(partial)
            self._partial = None
