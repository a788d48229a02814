"""The catalog: every environment id a host knows, with where it comes from and its status.

The only module of the command (with the doctor's findings) that reads the plugin manager's state, so that
a change of how the manager keeps it touches one place.
"""

from __future__ import annotations

import enum
import sys
from dataclasses import asdict, dataclass
from typing import Any, Iterator, Optional

from .._entries import Declaration, Form, normalize_name

__all__ = ["PROBLEMS", "EnvRow", "Status", "catalog", "owner_of", "plugin_envs"]


class Status(str, enum.Enum):
    """Where an id stands. The values are part of the ``--json`` format."""

    DECLARED = "declared"  # registered from metadata; its module not imported
    LOADED = "loaded"  # registered, and its code imported
    PENDING = "pending"  # a Form B plugin not loaded yet: its ids are not known
    BROKEN = "broken"  # a malformed entry, or a plugin that failed to load
    CONFLICT = "conflict"  # declared by more than one distribution: not registered
    DISABLED = "disabled"  # its distribution is blocked by GYMPLUG_DISABLE
    SHADOWED = "shadowed"  # the host already had the id; the host's stays
    BUILTIN = "builtin"  # the host's own (or registered by user code)


#: The statuses that are problems: ``list`` exits 1 when it shows one, ``check`` counts them as failures.
PROBLEMS = frozenset({Status.BROKEN, Status.CONFLICT})


@dataclass(frozen=True)
class EnvRow:
    """One row of ``gymplug list``. A Form B plugin that has no known ids is one row ``Namespace/*``."""

    id: str
    host: str
    status: Status
    form: str  # "env" (Form A), "plugin" (Form B) or "host"
    distribution: Optional[str] = None
    version: Optional[str] = None
    entry: Optional[str] = None  # the metadata entry "name = value"
    entry_point: Optional[str] = None  # what make() imports
    detail: Optional[str] = None  # why, for broken / conflict / shadowed rows

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status.value
        return data


def _row(host: str, env_id: str, status: Status, declaration: Optional[Declaration], **extra: Any) -> EnvRow:
    if declaration is None:
        return EnvRow(env_id, host, status, "host", **extra)
    return EnvRow(
        env_id,
        host,
        status,
        declaration.form.value,
        declaration.dist.name,
        declaration.dist.version,
        declaration.entry,
        **extra,
    )


def _plugin_id(declaration: Declaration) -> str:
    return f"{declaration.namespace}/*" if declaration.namespace else "*"


def _entry_point_module(entry_point: Any) -> Optional[str]:
    return entry_point.split(":", 1)[0] if isinstance(entry_point, str) else None


def catalog(manager: Any, *, builtins: bool = False) -> Iterator[EnvRow]:
    """Rows for everything ``manager`` knows, in a stable order (by id, then distribution)."""
    host = manager.host.name
    registry = manager.host.registry
    rows: list[EnvRow] = []
    for env_id, spec in dict.items(registry):
        entry_point = getattr(spec, "entry_point", None)
        shown = entry_point if isinstance(entry_point, str) else getattr(entry_point, "__qualname__", repr(entry_point))
        declaration = manager.owners.get(env_id)
        if declaration is None:
            if builtins:
                rows.append(_row(host, env_id, Status.BUILTIN, None, entry_point=shown))
            continue
        module = _entry_point_module(entry_point)
        imported = declaration.form is Form.PLUGIN or (module is not None and module in sys.modules)
        rows.append(_row(host, env_id, Status.LOADED if imported else Status.DECLARED, declaration, entry_point=shown))
    for env_id, claims in manager.conflicts.items():
        names = ", ".join(str(d.dist) for d in claims)
        rows.extend(_row(host, env_id, Status.CONFLICT, d, detail=f"declared by {names}") for d in claims)
    for env_id, claims in manager.shadowed.items():
        rows.extend(_row(host, env_id, Status.SHADOWED, d, detail="the host already has this id") for d in claims)
    for declarations in manager.pending.values():
        rows.extend(_row(host, _plugin_id(d), Status.PENDING, d) for d in declarations)
    for declaration, exc in manager.failures.items():
        detail = f"{type(exc).__name__}: {exc}"
        rows.append(_row(host, _plugin_id(declaration), Status.BROKEN, declaration, detail=detail))
    for declaration in manager.disabled:
        env_id = declaration.env_id or _plugin_id(declaration)
        rows.append(_row(host, env_id, Status.DISABLED, declaration, detail="GYMPLUG_DISABLE"))
    for problem in manager.discovery.problems:
        rows.append(
            EnvRow(
                problem.env_id or problem.name or "?",
                host,
                Status.BROKEN,
                "env" if problem.env_id else "?",
                problem.dist.name,
                problem.dist.version,
                problem.entry,
                detail=problem.reason,
            )
        )
    for declaration, env_id, reason in manager.rejected:
        rows.append(_row(host, env_id, Status.BROKEN, declaration, detail=f"refused: {reason}"))
    rows.sort(key=lambda r: (r.id.lower(), r.distribution or "", r.status.value))
    return iter(rows)


def owner_of(manager: Any, env_id: str) -> Optional[Declaration]:
    """The declaration that provides ``env_id``, or None for the host's own ids."""
    return manager.owners.get(env_id)


def plugin_envs(manager: Any, plugin: Optional[str] = None) -> list[str]:
    """The ids registered from plugins (of the distribution ``plugin`` only, if given), sorted."""
    key = normalize_name(plugin) if plugin else None
    return [env_id for env_id, d in sorted(manager.owners.items()) if key is None or normalize_name(d.dist.name) == key]
