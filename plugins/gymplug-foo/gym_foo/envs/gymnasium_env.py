"""FooEnv for Gymnasium 1.x."""

import gymnasium

from gym_foo._core import foo_env_class

FooEnv = foo_env_class(gymnasium, __name__)
