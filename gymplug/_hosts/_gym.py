"""gym 0.26 flavour: how the host loads entry points, and gymplug's plugin errors as ``gym.error.Error``."""

from gym import error

from .._errors import host_flavoured

LOAD = "load"
BASE_ERROR = error.Error
ERRORS = host_flavoured(__name__, error.Error)
globals().update({cls.__name__: cls for cls in ERRORS.values()})
