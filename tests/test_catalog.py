"""The rows of ``gymplug list``: built faster than the dataclass builds them, and equal to what it builds."""

from __future__ import annotations

import dataclasses

import pytest

from gymplug.cli._catalog import EnvRow, Status, new_row

CASES = [
    (("a-v0", "gymnasium", Status.DECLARED, "env"), {}),
    (("a-v0", "gym", Status.LEARNED, "import", "dist", "1.0", "a-v0 = m:E"), {"entry_point": "m:E"}),
    (("*", "gymnasium", Status.BROKEN, "plugin", "d", "2", "x = y", "m:E", "why"), {}),
    (("Ns/*", "gymnasium", Status.PENDING, "plugin"), {"detail": "d", "version": "3"}),
    (("h-v1", "gymnasium", Status.BUILTIN, "host"), {"entry_point": "pkg:Cls"}),
]


@pytest.mark.parametrize("values, named", CASES)
def test_a_row_is_the_one_the_dataclass_builds(values: tuple, named: dict) -> None:
    made, expected = new_row(*values, **named), EnvRow(*values, **named)
    assert made == expected and hash(made) == hash(expected) and type(made) is EnvRow
    assert list(vars(made).items()) == list(vars(expected).items())
    assert made.to_json() == dataclasses.asdict(expected) | {"status": expected.status.value}
    assert list(made.to_json()) == [f.name for f in dataclasses.fields(EnvRow)]
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.id = "other"  # type: ignore[misc]


@pytest.mark.parametrize("values, named", [(("a",), {}), (("a", "b", "c", "d"), {"nope": 1}),
                                           (("a", "b", "c", "d", "e"), {"distribution": "x"})])
def test_wrong_arguments_fail_as_the_dataclass_fails(values: tuple, named: dict) -> None:
    with pytest.raises(TypeError):
        new_row(*values, **named)
