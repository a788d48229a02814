"""gym 0.26: every fact gymplug needs about this host; gymplug's errors as ``gym.error.Error``."""

from ._facts import HostFacts

FACTS = HostFacts(
    name="gym",
    group="gym.envs",
    load_names=("load",),
    requirements=("gym==0.26.2", "numpy<2"),
    eager_loaders=("load_env_plugins",),  # gym 0.21-0.26
    numpy_below=2,  # np.bool8, in the env checker that make() runs
    flavour=__name__,
)


def __getattr__(name: str) -> type:
    # The error classes are built on first use: see HostFacts.errors (they pickle by this module's name).
    return FACTS.flavoured(name)
