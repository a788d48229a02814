"""The claim policy: who may register an env id, decided as each plugin registers it."""

from __future__ import annotations

from typing import Optional

from ._entries import Declaration
from ._ledger import Ledger
from ._log import get_logger
from ._registry import RawRegistry

__all__ = ["ClaimPolicy"]

logger = get_logger(__name__)


class ClaimPolicy:
    """One distribution per id, one per Form B namespace; an id the host already has stays the host's.

    Every decision is recorded in the ledger: conflicts (both claims, neither registered),
    shadowed ids, and refusals.
    """

    def __init__(self, ledger: Ledger, raw: RawRegistry) -> None:
        self.ledger = ledger
        self.raw = raw
        #: namespace -> the distribution whose Form B entry declares it: no one else registers there
        self.namespaces: dict[str, str] = {}

    def reserve(self, namespace: str, dist_key: str) -> None:
        """The first Form B entry of a namespace keeps it for its distribution."""
        self.namespaces.setdefault(namespace, dist_key)

    def keeper(self, namespace: Optional[str]) -> Optional[str]:
        return self.namespaces.get(namespace) if namespace else None

    def refuse(self, declaration: Declaration, env_id: str, reason: str) -> None:
        self.ledger.refuse(declaration, env_id, reason)
        logger.warning("%s: refused to register %s: %s", declaration.describe(), env_id, reason)

    def claim(self, env_id: str, declaration: Declaration) -> bool:
        """May ``declaration`` register ``env_id``? Records shadowing and conflicts on the way."""
        ledger = self.ledger
        namespace = env_id.split("/", 1)[0] if "/" in env_id else None
        keeper = self.keeper(namespace)
        if keeper is not None and keeper != declaration.dist.key:
            self.refuse(declaration, env_id, f"the namespace '{namespace}' belongs to the distribution {keeper}")
            return False
        with ledger.lock:
            if env_id in ledger.conflicts:
                ledger.conflicts[env_id].append(declaration)
                return False
            previous = ledger.owners.get(env_id)
            if previous is None:
                if not self.raw.has(env_id):
                    ledger.owners[env_id] = declaration
                    return True
                ledger.shadow(env_id, declaration)
            elif previous.dist.key == declaration.dist.key:
                ledger.owners[env_id] = declaration  # its own distribution's id again: allowed
                return True
            else:
                ledger.conflicts[env_id] = [previous, declaration]
                del ledger.owners[env_id]
                self.raw.drop(env_id)
        # Logged outside the lock: a handler may be slow.
        if previous is None:
            logger.warning(
                "%s declares %s, which the host already has; the host's stays", declaration.describe(), env_id
            )
        else:
            logger.warning(
                "%s is declared by both %s and %s; neither is registered", env_id, previous.dist, declaration.dist
            )
        return False
