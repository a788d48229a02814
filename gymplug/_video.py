"""Recording episodes to mp4 files, headless, with imageio-ffmpeg; a video on disk is always whole."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Optional

from ._errors import RecordingError

__all__ = ["RECORD_INSTALL", "VideoRecorder", "prepare_folder", "remove_if_empty"]

RECORD_INSTALL = "pip install 'gymplug[record]'"


def prepare_folder(folder: Path) -> list[Path]:
    """Make ``folder`` and check that it can hold recordings; return the folders made, outermost first."""
    if folder.is_symlink() and not folder.exists():
        target = os.readlink(folder)
        raise RecordingError(f"cannot write recordings to {folder}: it is a symbolic link to {target}, "
                             "which does not exist")
    if folder.exists() and not folder.is_dir():
        raise RecordingError(f"cannot write recordings to {folder}: it is a file, not a folder")
    made = [p for p in (folder, *folder.parents) if not p.exists() and not p.is_symlink()][::-1]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".gymplug-write-test-"):
            pass
    except OSError as exc:
        remove_if_empty(made)
        why = exc.strerror or str(exc)
        blocking = next((p for p in folder.parents if p.exists() and not p.is_dir()), None)
        if isinstance(exc, NotADirectoryError) and blocking is not None:
            why = f"{blocking} is a file, not a folder"
        raise RecordingError(f"cannot write recordings to {folder}: {why}") from None
    return made


def remove_if_empty(folders: list[Path]) -> None:
    """Remove the folders this run made and left empty, innermost first."""
    for folder in reversed(folders):
        with contextlib.suppress(OSError):
            folder.rmdir()


#: How long the encoder may take to finish a video once its frames are all sent (it flushes and writes the index).
FINISH_SECONDS = 120.0


class _Encoder:
    """One ffmpeg process turning raw rgb24 frames on its stdin into an mp4 file.

    gymplug starts it itself (rather than through imageio-ffmpeg's ``write_frames``) to see how it ends:
    its exit status and its error output say whether the file is whole (a full disk is found at the
    last write, when the index is written, and ``write_frames`` does not report it).
    """

    def __init__(self, exe: str, path: Path, width: int, height: int, fps: int) -> None:
        command = [
            exe, "-y", "-f", "rawvideo", "-vcodec", "rawvideo", "-s", f"{width}x{height}", "-pix_fmt", "rgb24",
            "-r", str(fps), "-i", "-", "-an", "-vcodec", "libx264", "-pix_fmt", "yuv420p", "-crf", "25",
            "-v", "error", "-f", "mp4", str(path),
        ]
        self._log = tempfile.TemporaryFile()  # a file, not a pipe: a chatty encoder never blocks on it
        try:
            # Its own session: a Ctrl-C at the terminal reaches gymplug, which then stops the encoder itself.
            self._proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                          stderr=self._log, start_new_session=True)
        except OSError as exc:
            self._log.close()
            raise RecordingError(f"cannot start the video encoder ({exe}): {exc.strerror or exc}") from None

    def send(self, data: bytes) -> None:
        stdin = self._proc.stdin
        try:
            if stdin is None:
                raise BrokenPipeError
            stdin.write(data)
        except OSError:  # the encoder has stopped (a full disk, a bad frame size): its own words say why
            self.close(timeout=10)
            raise RecordingError("the video encoder stopped before the episode ended") from None

    def close(self, timeout: float = FINISH_SECONDS) -> None:
        """Let the encoder finish the file; RecordingError if it did not write it whole."""
        with contextlib.suppress(OSError):
            if self._proc.stdin is not None:
                self._proc.stdin.close()
        try:
            status = self._proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise RecordingError(f"the video encoder did not finish within {timeout:.0f} s") from None
        if status != 0:
            raise RecordingError(f"the video encoder failed: {self._reason(status)}")
        self._log.close()

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            self._proc.kill()
        with contextlib.suppress(Exception):
            self._proc.wait(timeout=10)
        with contextlib.suppress(OSError):
            if self._proc.stdin is not None:
                self._proc.stdin.close()
        self._log.close()

    def _reason(self, status: int) -> str:
        self._log.seek(0)
        lines = [line.strip() for line in self._log.read()[-4096:].decode("utf-8", "replace").splitlines()]
        self._log.close()
        lines = [line for line in lines if line]
        for line in reversed(lines):  # ffmpeg's words for the OS error, when it gives one
            for known in ("No space left on device", "File too large", "Disk quota exceeded", "Permission denied"):
                if known in line:
                    return known
        if status == -getattr(signal, "SIGXFSZ", 0):  # past the file size limit (ulimit -f)
            return "File too large (the file size limit of this process)"
        if status < 0:
            return lines[-1] if lines else f"killed by signal {-status}"
        return lines[-1] if lines else f"exit status {status}"


class VideoRecorder:
    """Writes each episode's rgb_array frames to ``DIR/<id>-episode-<n>.mp4``.

    A video is written under a hidden ``.partial`` name and renamed when its episode ends, once the encoder
    has said the file is whole; :meth:`abort` (on an interrupt or an error) deletes the unfinished one, so no
    file under a final name is ever cut short.
    """

    def __init__(self, folder: Path, env_id: str, fps: int) -> None:
        try:
            import imageio_ffmpeg
        except ImportError:
            raise RecordingError(f"--record needs imageio-ffmpeg: {RECORD_INSTALL}") from None
        try:
            self._exe: str = imageio_ffmpeg.get_ffmpeg_exe()
        except RuntimeError as exc:
            raise RecordingError(f"--record found no ffmpeg: {exc}") from None
        self.folder = folder
        self.stem = env_id.replace("/", "_")
        self.fps = fps
        #: the videos finished so far
        self.paths: list[Path] = []
        self._writer: Optional[_Encoder] = None
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
        if frame.ndim != 3 or frame.shape[2] != 3:
            raise RecordingError(f"cannot record: rgb_array render gave an array of shape {frame.shape}, not HxWx3")
        if self._writer is None:
            if self._partial is None:
                raise RecordingError("frame() before start()")
            height, width = frame.shape[:2]
            self._size = (height, width)
            self._writer = _Encoder(self._exe, self._partial, width, height, self.fps)
        elif frame.shape[:2] != self._size:
            raise RecordingError(f"cannot record: the frame size changed from {self._size} to {frame.shape[:2]}")
        self._writer.send(frame.tobytes())

    def finish(self) -> None:
        """Complete the current video and give it its final name (RecordingError if it is not whole)."""
        writer, partial, path = self._writer, self._partial, self._path
        if writer is not None and partial is not None and path is not None:
            # The partial file stays known until it has its final name: a Ctrl-C while the encoder
            # closes (it flushes for a while) leaves abort() a file to delete.
            self._writer = None
            try:
                writer.close()
            except RecordingError as exc:
                raise RecordingError(f"cannot record {path.name}: {exc}") from None
            os.chmod(partial, 0o644)  # whatever the umask: never world-writable
            os.replace(partial, path)
            self._partial = None
            self.paths.append(path)

    def abort(self) -> None:
        """Drop the current video, unfinished: stop the encoder and delete its file."""
        writer, self._writer = self._writer, None
        if writer is not None:
            with contextlib.suppress(BaseException):
                writer.kill()
        partial, path = self._partial, self._path
        if partial is not None:
            if path is not None and not partial.exists() and path.exists():
                if path not in self.paths:  # renamed whole just before the interrupt: it counts
                    self.paths.append(path)
            else:
                with contextlib.suppress(OSError):
                    os.unlink(partial)
            self._partial = None
