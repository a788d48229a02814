"""gymnasium 1.x: every fact gymplug needs about this host; gymplug's errors as ``gymnasium.error.Error``."""

from ._facts import HostFacts

FACTS = HostFacts(
    name="gymnasium",
    group="gymnasium.envs",
    load_name="load_env_creator",
    requirements=("gymnasium>=1.0,<2",),
    flavour=__name__,
)


def __getattr__(name: str) -> type:
    # The error classes are built on first use: see HostFacts.errors (they pickle by this module's name).
    return FACTS.flavoured(name)
