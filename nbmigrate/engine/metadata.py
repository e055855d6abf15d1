"""Finding the model's MetaData: an expression, a module path, or the namespace."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from sqlalchemy import MetaData, inspect

from .advice import Setting
from .errors import NbMigrateError

_SKIP = {"In", "Out", "exit", "quit", "get_ipython"}


def as_metadata(value: Any) -> MetaData | None:
    """The MetaData of ``value``: a MetaData or a declarative base (not a model class)."""
    if isinstance(value, MetaData):
        return value
    is_base = (
        isinstance(value, type)
        and isinstance(getattr(value, "metadata", None), MetaData)
        and inspect(value, raiseerr=False) is None  # a base, not a mapped model class
    )
    if is_base:
        return value.metadata
    return None


def resolve_metadata(spec: str | None, namespace: Mapping[str, Any] | None) -> tuple[MetaData, str]:
    """The MetaData named by ``spec`` (expression or ``module:attr``), or the one in ``namespace``.

    Returns the MetaData and the name it was found under.
    """
    if spec:
        value = _evaluate(spec, namespace or {})
        metadata = as_metadata(value)
        if metadata is None:
            raise NbMigrateError(
                f"--metadata {spec} is of type {type(value).__name__}, "
                "not a MetaData or declarative base"
            )
        return metadata, spec
    found: dict[int, tuple[str, MetaData]] = {}
    for name, value in (namespace or {}).items():
        if name.startswith("_") or name in _SKIP:
            continue
        metadata = as_metadata(value)
        if metadata is not None:
            # Base and Base.metadata bound to two names are one model
            found.setdefault(id(metadata), (name, metadata))
    if not found:
        raise NbMigrateError(
            "no MetaData or declarative base found in the notebook: define your models "
            "or pass --metadata EXPR"
        )
    if len(found) > 1:
        names = ", ".join(sorted(name for name, _ in found.values()))
        raise NbMigrateError(f"several models found ({names}): pick one with --metadata NAME",
                             Setting("metadata", "'NAME'", lead=" or "))
    name, metadata = next(iter(found.values()))
    return metadata, name


def _evaluate(spec: str, namespace: Mapping[str, Any]) -> Any:
    if ":" in spec:
        module_name, _, attr = spec.partition(":")
        try:
            value: Any = importlib.import_module(module_name)
            for part in filter(None, attr.split(".")):
                value = getattr(value, part)
        except (ImportError, AttributeError) as exc:
            raise NbMigrateError(f"cannot import --metadata {spec}: {exc}") from None
        return value
    try:
        return eval(spec, dict(namespace))  # noqa: S307 - the user's own expression
    except Exception as exc:  # noqa: BLE001 - any error in the user's expression is one line
        raise NbMigrateError(
            f"cannot evaluate --metadata {spec}: {type(exc).__name__}: {exc}"
        ) from None
