"""GridEnv: walk from S to G on a grid with walls (#); rgb_array and ansi rendering."""

from __future__ import annotations

from typing import Any, Optional

import gymnasium
import numpy as np
from gymnasium import spaces

LAYOUTS = {
    "empty": ["S....", ".....", ".....", ".....", "....G"],
    "maze": ["S.#....", ".##.##.", "....#..", "##.##.#", "..#....", ".##.##.", "....#.G"],
    "corridor": ["S........G"],
}
MOVES = np.array([(-1, 0), (0, 1), (1, 0), (0, -1)])  # up, right, down, left
COLORS = {".": (235, 235, 235), "#": (60, 60, 60), "S": (235, 235, 235), "G": (40, 170, 60)}
CELL = 8  # pixels per cell in rgb_array frames


class GridEnv(gymnasium.Env):
    """Observation: the agent's cell index. Reward 1 at the goal, -0.01 per step otherwise."""

    metadata = {"render_modes": ["rgb_array", "ansi"], "render_fps": 4}

    def __init__(self, layout: str = "empty", render_mode: Optional[str] = None) -> None:
        if layout not in LAYOUTS:
            raise ValueError(f"unknown layout {layout!r}; one of {sorted(LAYOUTS)}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']}, not {render_mode!r}")
        self.grid = np.array([list(row) for row in LAYOUTS[layout]])
        self.render_mode = render_mode
        self.start = tuple(np.argwhere(self.grid == "S")[0])
        self.goal = tuple(np.argwhere(self.grid == "G")[0])
        self.observation_space = spaces.Discrete(self.grid.size)
        self.action_space = spaces.Discrete(4)
        self.agent = self.start

    def _obs(self) -> int:
        return int(self.agent[0] * self.grid.shape[1] + self.agent[1])

    def reset(self, *, seed: Optional[int] = None, options: Optional[dict] = None) -> tuple[int, dict]:
        super().reset(seed=seed)
        self.agent = self.start
        return self._obs(), {}

    def step(self, action: Any) -> tuple[int, float, bool, bool, dict]:
        if not self.action_space.contains(action):
            raise ValueError(f"invalid action {action!r}")
        row, col = np.array(self.agent) + MOVES[int(action)]
        if 0 <= row < self.grid.shape[0] and 0 <= col < self.grid.shape[1] and self.grid[row, col] != "#":
            self.agent = (int(row), int(col))
        reached = self.agent == self.goal
        return self._obs(), 1.0 if reached else -0.01, reached, False, {}

    def render(self) -> Any:
        if self.render_mode == "ansi":
            rows = ["".join(row) for row in self.grid]
            row, col = self.agent
            rows[row] = rows[row][:col] + "A" + rows[row][col + 1 :]
            return "\n".join(rows) + "\n"
        if self.render_mode == "rgb_array":
            frame = np.array([[COLORS[c] for c in row] for row in self.grid], dtype=np.uint8)
            frame[self.agent] = (200, 40, 40)
            return np.kron(frame, np.ones((CELL, CELL, 1), dtype=np.uint8))
        return None
