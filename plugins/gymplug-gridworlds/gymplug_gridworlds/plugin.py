"""The registration plugin: loaded on the first lookup in the Grid namespace; imports only gymplug."""

from gymplug import hookimpl

ENTRY_POINT = "gymplug_gridworlds.envs:GridEnv"


@hookimpl
def gymplug_register_envs(register):
    # Ids without a namespace go into the entry's namespace: Grid/Empty-v0, ...
    register("Empty-v0", ENTRY_POINT, max_episode_steps=50, kwargs={"layout": "empty"})
    register("Maze-v0", ENTRY_POINT, max_episode_steps=200, reward_threshold=0.9, kwargs={"layout": "maze"})
    register("Corridor-v1", ENTRY_POINT, max_episode_steps=30, kwargs={"layout": "corridor"})
