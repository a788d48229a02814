"""Registering many ids at once, when a host attaches: Form A entries and learned placeholders.

Hot: 10,000s of ids at attach. One-off registrations (a plugin's ``register()`` while it loads) go
through :meth:`gymplug._loader.Loader.register_as` instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

from ._entries import Declaration
from ._errors import one_line

if TYPE_CHECKING:
    from ._loader import Loader

__all__ = ["register_entries", "register_learned"]


def register_entries(loader: "Loader", declarations: list[Declaration]) -> None:
    """Register Form A entries, each as its own distribution's: their ids and values are validated.

    The common case, an id nobody has and no namespace keeper refuses, is decided here under one hold
    of the ledger's lock; every other goes through :meth:`ClaimPolicy.claim`, which records conflicts
    and shadowing.
    """
    policy = loader.policy
    env_spec, claim, store = loader.host.spec_maker(), policy.claim, loader.raw.store
    registry, ledger, keepers = loader.raw.data, loader.ledger, policy.namespaces
    owners, conflicts, has, put = ledger.owners, ledger.conflicts, dict.__contains__, dict.__setitem__
    with ledger.lock:
        for declaration in declarations:
            env_id = declaration.name
            try:
                spec = env_spec(env_id, declaration.value)
            except Exception as exc:
                policy.refuse(declaration, env_id, f"invalid options: {one_line(exc)}")
                continue
            if keepers and "/" in env_id or env_id in owners or env_id in conflicts or has(registry, env_id):
                if claim(env_id, declaration):
                    store(env_id, spec)
            else:
                owners[env_id] = declaration
                put(registry, env_id, spec)


def register_learned(
    loader: "Loader",
    entries: list[tuple[Declaration, str, Mapping[str, Any]]],
    clashes: Mapping[str, list[Declaration]],
) -> None:
    """Register learned ids as native specs, each its source's: placeholders that making one replaces
    with what its package registers (:meth:`Loader.take_placeholder`). Ids two sources provide are
    conflicts, as for entries; an id the host already has, or whose fields this host release does not
    take, stays a hint."""
    ledger, policy, raw = loader.ledger, loader.policy, loader.raw
    keepers = policy.namespaces
    with ledger.lock:
        for env_id, claims in clashes.items():
            if env_id not in ledger.owners and env_id not in ledger.conflicts and not raw.has(env_id):
                ledger.conflicts[env_id] = list(claims)
    for declaration, env_id, fields in entries:
        owner = ledger.owners.get(env_id)
        if owner is not None and owner.dist.key == declaration.dist.key:
            continue  # registered already: its placeholder, or what its package registered
        if env_id in ledger.conflicts or (raw.has(env_id) and owner is None):
            continue
        try:
            spec = loader.host.env_spec(env_id, **fields)
        except Exception:  # noqa: BLE001 - learned under another release of the host: a hint only
            continue
        if (keepers and "/" in env_id or env_id in ledger.owners) and not policy.claim(env_id, declaration):
            continue
        with ledger.lock:
            ledger.owners[env_id] = declaration
            loader.placeholders[env_id] = spec
            raw.store(env_id, spec)
