"""Before gymplug attaches, every read of the host registry sees the ids it would see after attaching.

The registry attaches on its first use; the C-level read paths of a dict subclass are covered
(``dict(registry)``, ``{**registry}``, ``==``, ``json``, ``copy``, ``pickle``), on the real host's code.
"""

from __future__ import annotations

import copy
import json
import pickle

import pytest

from inproc import declare, pending

from gymplug._registry import LazyRegistry, PendingRegistry

PLUGIN_ID = "Plugged-v0"


def ids(value) -> set:
    return set(value)


READS = {
    "in": lambda r: {PLUGIN_ID} if PLUGIN_ID in r else set(),
    "get": lambda r: {PLUGIN_ID} if r.get(PLUGIN_ID) is not None else set(),
    "getitem": lambda r: {r[PLUGIN_ID].id},
    "iter": lambda r: ids(iter(r)),
    "list": lambda r: ids(list(r)),
    "sorted": lambda r: ids(sorted(r)),
    "len": lambda r: {PLUGIN_ID} if len(r) == 2 else set(),
    "bool+len": lambda r: {PLUGIN_ID} if r and len(r) == 2 else set(),
    "keys": lambda r: ids(r.keys()),
    "values": lambda r: {s.id for s in r.values()},
    "items": lambda r: {k for k, _ in r.items()},
    "dict()": lambda r: ids(dict(r)),
    "{**}": lambda r: ids({**r}),
    "copy()": lambda r: ids(r.copy()),
    "copy.copy": lambda r: ids(copy.copy(r)),
    "copy.deepcopy": lambda r: ids(copy.deepcopy(r)),
    "pickle": lambda r: ids(pickle.loads(pickle.dumps(r))),
    "json": lambda r: ids(json.loads(json.dumps({k: str(v) for k, v in r.items()}))) & ids(json.loads(json.dumps(r, default=str))),
    "repr": lambda r: {PLUGIN_ID} if PLUGIN_ID in repr(r) else set(),
    # equal to the host's ids alone only if the plugin's id is missing
    "==": lambda r: set() if r == {"Builtin-v0": dict.get(r, "Builtin-v0")} else {PLUGIN_ID},
    "!=": lambda r: {PLUGIN_ID} if r != {"Builtin-v0": dict.get(r, "Builtin-v0")} else set(),
    "|": lambda r: ids(r | {}),
    "reversed": lambda r: ids(reversed(r)),
    "set": lambda r: set(r),
}


@pytest.mark.parametrize("read", READS)
def test_each_read_path_attaches_first(registration, read):
    link = pending(registration, declare("plugged", PLUGIN_ID, "plugged_envs:Env"))
    assert type(registration.registry) is PendingRegistry and not link.manager.attached
    seen = READS[read](registration.registry)
    assert PLUGIN_ID in seen, f"{read} did not see the plugin's id"
    assert link.manager.attached and type(registration.registry) is LazyRegistry


def test_a_hit_on_a_host_id_does_not_attach(registration):
    link = pending(registration, declare("plugged", PLUGIN_ID, "plugged_envs:Env"))
    assert registration.registry["Builtin-v0"].id == "Builtin-v0"
    assert registration.registry.get("Builtin-v0") is not None and "Builtin-v0" in registration.registry
    assert not link.manager.attached


def test_a_users_register_attaches_first_so_it_wins_over_a_plugin(registration):
    link = pending(registration, declare("plugged", PLUGIN_ID, "plugged_envs:Env"))
    with pytest.warns(UserWarning, match="Overriding environment"):  # as when gymplug attached at import
        registration.register(id=PLUGIN_ID, entry_point="mine:Env")
    assert link.manager.attached
    assert registration.registry[PLUGIN_ID].entry_point == "mine:Env"
    assert link.manager.ledger.owner(PLUGIN_ID) is None


def test_pprint_registry_attaches(registration):
    pending(registration, declare("plugged", PLUGIN_ID, "plugged_envs:Env"))
    if not hasattr(registration, "pprint_registry"):
        pytest.skip("this host has no pprint_registry")
    assert PLUGIN_ID in registration.pprint_registry(disable_print=True)


@pytest.mark.parametrize("kind", [LazyRegistry, PendingRegistry])
def test_values_walked_in_python_survive_an_insert_meanwhile(kind) -> None:
    """The hosts' register() and make() walk ``registry.values()`` in Python code, and a plugin loading in
    another thread inserts meanwhile: a live view raised "dictionary changed size during iteration" there
    (a plugin's load failed, or a make, about one run in ten of 16 threads making 6 ids on gym)."""
    registry = kind({"A-v0": 1, "B-v0": 2})
    walking = iter(registry.values())
    assert next(walking) == 1
    dict.__setitem__(registry, "C-v0", 3)  # as another thread's registration does, between two steps
    assert list(walking) == [2]
    assert list(registry.values()) == [1, 2, 3]
