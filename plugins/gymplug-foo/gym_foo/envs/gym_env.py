"""FooEnv for gym 0.26."""

import gym

from gym_foo._core import foo_env_class

FooEnv = foo_env_class(gym, __name__)
