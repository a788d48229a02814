"""The catalog: every environment id a host knows, with where it comes from and its status.

A view of the manager's ledger (:meth:`gymplug._ledger.Ledger.entries`) and of the registry.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, fields
from typing import Any, Iterator, Optional

from .._builtins import imported
from .._entries import Declaration, Form, normalize_name
from .._learning import _quick
from .._ledger import Status
from .._settings import current

__all__ = ["PROBLEMS", "EnvRow", "Status", "catalog", "owner_of", "plugin_envs"]


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
        # A copy of its fields (in their order): dataclasses.asdict deep-copies, which was most of
        # `list --json` at 10,000 rows.
        data = dict(vars(self))
        data["status"] = self.status._value_  # an enum's .value is a Python property: 10,000 rows call it
        return data


_FIELDS = tuple(f.name for f in fields(EnvRow))
_new = object.__new__


def new_row(*values: Any, **named: Any) -> EnvRow:
    """``EnvRow(*values, **named)``, built as the dataclass's ``__init__`` builds it (every field, in their
    order), without its ``object.__setattr__`` per field (a frozen dataclass's): a listing makes one per id."""
    given = _FIELDS[: len(values)]
    if not _REQUIRED <= len(values) <= len(_FIELDS) or not named.keys() <= _DEFAULTS.keys() or named.keys() & given:
        return EnvRow(*values, **named)  # its constructor says what is wrong
    data = dict(_TEMPLATE)
    data.update(zip(given, values))
    data.update(named)
    row = _new(EnvRow)
    row.__dict__.update(data)
    return row


_DEFAULTS = {f.name: f.default for f in fields(EnvRow) if f.default is not MISSING}
_REQUIRED = len(_FIELDS) - len(_DEFAULTS)
_TEMPLATE = {name: _DEFAULTS.get(name) for name in _FIELDS}


def _row(host: str, env_id: str, status: Status, declaration: Optional[Declaration], **extra: Any) -> EnvRow:
    if declaration is None:
        return new_row(env_id, host, status, "host", **extra)
    return new_row(
        env_id,
        host,
        status,
        declaration.form._value_,
        declaration.dist.name,
        declaration.dist.version,
        declaration.entry,
        **extra,
    )


def _entry_point_module(entry_point: Any) -> Optional[str]:
    return entry_point.split(":", 1)[0] if isinstance(entry_point, str) else None


def catalog(manager: Any, *, builtins: bool = False) -> Iterator[EnvRow]:
    """Rows for everything ``manager`` knows, in a stable order (by id, then distribution)."""
    host = manager.host.name
    registry = manager.host.registry
    disabled = manager.discovery.disabled
    placeholders = manager.loader.placeholders
    rows: list[EnvRow] = []
    for env_id, spec in dict.items(registry):
        entry_point = getattr(spec, "entry_point", None)
        shown = entry_point if isinstance(entry_point, str) else getattr(entry_point, "__qualname__", repr(entry_point))
        declaration = manager.ledger.owner(env_id)
        if declaration is None:
            if builtins:
                rows.append(_row(host, env_id, Status.BUILTIN, None, entry_point=shown))
            continue
        if declaration.form is Form.IMPORT:  # learned: loaded once its package replaced gymplug's spec
            status = Status.LEARNED if placeholders.get(env_id) is spec else Status.LOADED
        else:
            module = _entry_point_module(entry_point)
            done = declaration.form is not Form.ENV or (module is not None and imported(manager, module))
            status = Status.LOADED if done else Status.DECLARED
        rows.append(_row(host, env_id, status, declaration, entry_point=shown))
    hints = manager.loader.hints
    pending = []
    for declaration in manager.pending_declarations():  # a plugin not loaded here whose ids were learned
        known = hints.ids(declaration) if hints is not None else None
        if known and declaration.namespace:  # what it tried outside its namespace was refused
            known = tuple(env_id for env_id in known if env_id.startswith(f"{declaration.namespace}/"))
        if known:
            rows.extend(_row(host, env_id, Status.LEARNED, declaration)
                        for env_id in known if not dict.__contains__(registry, env_id))
        else:
            pending.append(declaration)
    for entry in manager.ledger.entries(pending):
        if entry.problem is not None:
            problem = entry.problem
            rows.append(EnvRow(entry.env_id, host, Status.BROKEN, "env" if problem.env_id else "?",
                               problem.dist.name, problem.dist.version, problem.entry, detail=problem.reason))
        else:
            rows.append(_row(host, entry.env_id, entry.status, entry.declaration, detail=entry.detail))
    conflicts = manager.ledger.conflicts
    # Does the learned store hold an import source's entry for this host? If not, nothing is to be read of
    # the import sources: no scan of every distribution's METADATA.
    learned = bool(_quick.stored_keys(manager.host.name, manager.settings or current()))
    for env_id, declaration, entry_point in manager.learning.learned_ids() if learned else ():
        if not dict.__contains__(registry, env_id) and env_id not in conflicts:  # learned, not registered here
            status = Status.DISABLED if declaration.dist.key in disabled else Status.LEARNED
            rows.append(_row(host, env_id, status, declaration, entry_point=entry_point,
                             detail="GYMPLUG_DISABLE" if status is Status.DISABLED else None))
    for source, item in manager.learning.learned_sources() if learned else ():  # a failed one; with --all, no ids
        if item.error:
            rows.append(_row(host, "*", Status.BROKEN, manager.learning.declaration(source, item),
                             detail=f"learning failed: {item.error}"))
        elif not item.ids and builtins:
            rows.append(_row(host, "*", Status.EMPTY, manager.learning.declaration(source, item),
                             detail="registers no environment when imported"))
    rows.sort(key=lambda r: (r.id.lower(), r.distribution or "", r.status._value_))
    return iter(rows)


def owner_of(manager: Any, env_id: str) -> Optional[Declaration]:
    """The declaration that provides ``env_id``, or None for the host's own ids."""
    return manager.ledger.owner(env_id)


def plugin_envs(manager: Any, plugin: Optional[str] = None) -> list[str]:
    """The ids registered from plugins (of the distribution ``plugin`` only, if given), sorted."""
    key = normalize_name(plugin) if plugin else None
    owners = sorted(manager.ledger.owners.items())
    return [env_id for env_id, d in owners if key is None or normalize_name(d.dist.name) == key]
