"""Checks applied to every vector and search argument before any SQL runs.

sqlite-vec accepts NaN and Inf silently and then returns wrong neighbours, so finiteness is checked
here, in Python.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from memory.errors import DimensionMismatchError, ValidationError
from memory.models import ROLES

MAX_K: Final = 4096
_INT64_MIN: Final = -(2**63)
_INT64_MAX: Final = 2**63 - 1

FloatMatrix = npt.NDArray[np.float32]


def as_vector(value: Any, dimensions: int) -> npt.NDArray[np.float32]:
    """One vector of `dimensions` finite floats, as float32 of shape `(dimensions,)`."""
    matrix = as_matrix(value, dimensions, allow_single=True)
    if matrix.shape[0] != 1 or np.ndim(value) != 1:
        raise ValidationError(f"expected one vector of shape ({dimensions},), got shape {np.shape(value)}")
    vector: npt.NDArray[np.float32] = matrix[0]
    return vector


def as_matrix(value: Any, dimensions: int, *, allow_single: bool = True) -> FloatMatrix:
    """Vectors as a C-contiguous float32 matrix of shape `(n, dimensions)`, n >= 1.

    Accepts a list/tuple of numbers, a list of such lists, or a numpy array of shape `(dimensions,)`
    or `(n, dimensions)`. Rejects strings, non-numeric values, NaN/Inf and wrong shapes.
    """
    array = _as_float_array(value)
    if array.ndim == 1 and allow_single:
        array = array.reshape(1, -1)
    if array.ndim != 2:
        raise ValidationError(f"expected shape ({dimensions},) or (n, {dimensions}), got shape {array.shape}")
    if array.shape[0] == 0:
        raise ValidationError("expected at least one vector, got an empty batch")
    if array.shape[1] != dimensions:
        raise DimensionMismatchError(
            f"expected vectors of {dimensions} dimensions, got {array.shape[1]}; embed with the model "
            "of this embedding space, or reindex into a new space"
        )
    with np.errstate(over="ignore"):  # overflow becomes Inf, rejected just below
        matrix = np.ascontiguousarray(array, dtype=np.float32)
    # One pass finds every unusable row: NaN or Inf make the squared length NaN or Inf; so does a
    # length too large for float32, and a zero (or underflowing) one makes it 0. Cosine distance needs
    # a usable length, computed in float32 as sqlite-vec and the index compute it.
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        squared_norms = np.einsum("ij,ij->i", matrix, matrix)
    unusable = ~np.isfinite(squared_norms) | (squared_norms == 0)
    if unusable.any():
        row = int(np.argmax(unusable))
        if not np.isfinite(matrix[row]).all():
            raise ValidationError(f"vector {row} has NaN or infinite values (after conversion to float32)")
        raise ValidationError(
            f"vector {row} has zero length, or one too small or too large for float32 (cosine distance "
            "is undefined for it)"
        )
    return matrix


def _as_float_array(value: Any) -> npt.NDArray[Any]:
    if isinstance(value, str | bytes | bytearray | memoryview):
        raise ValidationError(
            f"a vector must be a list or numpy array of numbers, not {type(value).__name__}"
        )
    try:
        array = np.asarray(value)
    except (ValueError, TypeError) as exc:
        raise ValidationError(f"a vector must be a rectangular array of numbers: {exc}") from exc
    if array.dtype == np.bool_ or not (
        np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)
    ):
        raise ValidationError(
            f"a vector must hold real numbers, got dtype {array.dtype} (e.g. strings, None or objects)"
        )
    return array


def check_k(k: Any) -> int:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= int(k) <= MAX_K:
        raise ValidationError(f"k must be an int from 1 to {MAX_K}, not {k!r}")
    return int(k)


def check_id(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValidationError(f"{what} must be an int, not {value!r}")
    if not _INT64_MIN <= value <= _INT64_MAX:
        raise ValidationError(f"{what} must fit in 64 bits, not {value!r}")
    return int(value)


def check_role(role: Any) -> str:
    if not isinstance(role, str) or role not in ROLES:
        raise ValidationError(f"role must be one of {', '.join(ROLES)}; got {role!r}")
    return role


def check_roles(roles: Iterable[str] | str | None) -> tuple[str, ...] | None:
    if roles is None:
        return None
    if isinstance(roles, str):
        roles = (roles,)
    checked = tuple(dict.fromkeys(check_role(role) for role in roles))
    if not checked:
        raise ValidationError("roles must name at least one role, or be None for all roles")
    return checked


def check_datetime(value: Any, what: str) -> datetime:
    if not isinstance(value, datetime):
        raise ValidationError(f"{what} must be a datetime, not {type(value).__name__}")
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def epoch_microseconds(value: datetime) -> int:
    """A timestamp as integer microseconds since the Unix epoch (naive means UTC)."""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    delta = aware - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
