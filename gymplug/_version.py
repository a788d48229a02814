"""The version of gymplug."""

__version__ = "0.1.0"
