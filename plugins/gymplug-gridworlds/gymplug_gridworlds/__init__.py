"""Grid worlds for Gymnasium, registered through a gymplug registration plugin (see plugin.py)."""
