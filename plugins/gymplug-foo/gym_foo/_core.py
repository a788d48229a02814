"""FooEnv's dynamics and rendering, in numpy, and the Env class built on either host's API.

gym 0.26 and Gymnasium 1.x share the reset/step API, so one definition serves both; each host
module builds its class with ``foo_env_class(host, __name__)`` so that it subclasses that host's Env.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any, Optional

import numpy as np

GOAL = 0.8  # position of the goal on the track [-1, 1]
GOAL_RADIUS = 0.05
FORCE = 0.004
FRICTION = 0.05
MAX_SPEED = 0.07
FRAME = 64  # rendered frames are FRAME x FRAME x 3


def step_state(state: np.ndarray, action: int) -> tuple[np.ndarray, float, bool]:
    """One step of the point mass: (new state, reward, reached the goal)."""
    position, velocity = float(state[0]), float(state[1])
    velocity = float(np.clip(velocity * (1.0 - FRICTION) + (action - 1) * FORCE, -MAX_SPEED, MAX_SPEED))
    position += velocity
    if not -1.0 <= position <= 1.0:  # the track ends in walls that stop the mass
        position, velocity = float(np.clip(position, -1.0, 1.0)), 0.0
    reached = abs(position - GOAL) <= GOAL_RADIUS
    reward = 1.0 if reached else -0.1 * abs(position - GOAL)
    return np.array([position, velocity], dtype=np.float32), reward, reached


def render_rgb(state: np.ndarray, size: int = FRAME) -> np.ndarray:
    """A top view: grey track, green goal, red mass."""
    frame = np.full((size, size, 3), 255, dtype=np.uint8)
    middle = size // 2

    def column(x: float) -> int:
        return int(round((x + 1.0) / 2.0 * (size - 1)))

    frame[middle - 1 : middle + 2, :] = (160, 160, 160)
    goal = column(GOAL)
    frame[middle - 8 : middle + 9, max(goal - 1, 0) : goal + 2] = (40, 170, 60)
    mass = column(float(state[0]))
    frame[middle - 4 : middle + 5, max(mass - 4, 0) : mass + 5] = (200, 40, 40)
    return frame


def foo_env_class(host: ModuleType, module: str) -> type:
    """FooEnv as a subclass of ``host.Env`` (``host`` is the gym or gymnasium module)."""
    spaces = host.spaces

    class FooEnv(host.Env):
        """Push a point mass (left, coast, right) to the goal at +0.8; the episode ends there."""

        metadata = {"render_modes": ["rgb_array"], "render_fps": 30}

        def __init__(self, render_mode: Optional[str] = None) -> None:
            if render_mode is not None and render_mode not in self.metadata["render_modes"]:
                raise ValueError(f"render_mode must be one of {self.metadata['render_modes']}, not {render_mode!r}")
            self.render_mode = render_mode
            high = np.array([1.0, MAX_SPEED], dtype=np.float32)
            self.observation_space = spaces.Box(-high, high, dtype=np.float32)
            self.action_space = spaces.Discrete(3)
            self.state = np.zeros(2, dtype=np.float32)

        def reset(self, *, seed: Optional[int] = None, options: Optional[dict] = None) -> tuple[np.ndarray, dict]:
            super().reset(seed=seed)
            self.state = np.array([self.np_random.uniform(-0.6, -0.4), 0.0], dtype=np.float32)
            return self.state.copy(), {}

        def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
            if not self.action_space.contains(action):
                raise ValueError(f"invalid action {action!r}")
            self.state, reward, terminated = step_state(self.state, int(action))
            return self.state.copy(), reward, terminated, False, {}

        def render(self) -> Optional[np.ndarray]:
            return render_rgb(self.state) if self.render_mode == "rgb_array" else None

    FooEnv.__module__ = module
    return FooEnv
