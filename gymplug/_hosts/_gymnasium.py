"""Gymnasium 0.26.3 to 1.x: every fact gymplug needs about this host; gymplug's errors as ``gymnasium.error.Error``."""

from ._facts import HostFacts

FACTS = HostFacts(
    name="gymnasium",
    group="gymnasium.envs",
    load_names=("load_env_creator", "load"),  # `load` until 0.27
    requirements=("gymnasium>=1.0,<2",),
    # load_plugin_envs in 0.28 and 0.29, load_env_plugins in 0.26 and 0.27; 1.0 has none
    eager_loaders=("load_plugin_envs", "load_env_plugins"),
    numpy_below=2,  # 0.26: np.bool8, in the env checker that make() runs
    numpy_fixed_in="0.27",
    flavour=__name__,
)


def __getattr__(name: str) -> type:
    # The error classes are built on first use: see HostFacts.errors (they pickle by this module's name).
    return FACTS.flavoured(name)
