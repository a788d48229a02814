"""gymnasium 1.x flavour: how the host loads entry points, and gymplug's plugin errors as ``gymnasium.error.Error``."""

from gymnasium import error

from .._errors import host_flavoured

LOAD = "load_env_creator"
BASE_ERROR = error.Error
ERRORS = host_flavoured(__name__, error.Error)
globals().update({cls.__name__: cls for cls in ERRORS.values()})
