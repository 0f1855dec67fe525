"""Recipe configurations as frozen, typed, validated dataclasses.

A recipe's configuration (:class:`RecipeConfig`) has five parts, each a frozen dataclass whose fields are
documented and checked when it is built (type, range, finiteness; :class:`ConfigError`, a ``ValueError``, names
the field as its command-line option):

- ``data``: which data (a dataset section of :mod:`skelgraph.recipes.protocols`, or :class:`FileData`);
- ``model``: :class:`ARRNOptions` or :class:`GCAOptions`;
- ``optim``: :class:`Optimisation` (epochs, batch, optimiser, schedule, clipping, weight average);
- ``protocol``: :class:`Protocol` (model selection, augmentation, pre-processing);
- ``run``: :class:`RunOptions` (device, seed, run folder, logging): where and how, not what is trained.

The same object comes from the command line (:mod:`skelgraph.recipes.cli`), from a JSON / YAML file
(:meth:`RecipeConfig.updated` with :func:`~skelgraph.recipes.files.load_config_file`; a run folder's
``config.json`` is one) or from
Python. A field the part does not have is an error, never a silent default.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

SECTIONS = ("data", "model", "optim", "protocol", "run")


class ConfigError(ValueError):
    """A configuration value that is refused: one line naming the option and what was expected."""


def option(default: Any = None, help: str = "", *, flags: tuple[str, ...] | None = None, choices: Any = None,
           low: float | None = None, high: float | None = None, low_open: bool = False, negate: bool = False,
           metavar: Any = None, boolean_optional: bool = False) -> Any:
    """A documented configuration field: ``default``, ``help`` (shown by ``--help``), its command-line ``flags``
    (default ``--field-name``), ``choices``, the closed range ``[low, high]`` (``low_open``: ``low`` excluded) every
    number must lie in (and be finite), ``negate`` (a ``--no-...`` flag that sets the field to False),
    ``boolean_optional`` (``--flag`` and ``--no-flag``), the ``metavar`` of ``--help``."""
    meta = dict(help=help, flags=flags, choices=tuple(choices) if choices is not None else None, low=low, high=high,
                low_open=low_open, negate=negate, metavar=metavar, boolean_optional=boolean_optional)
    if isinstance(default, (list, dict)):
        raise TypeError("mutable default")
    return field(default=default, metadata=meta)


def flag_of(f: dataclasses.Field) -> str:
    """The first command-line flag of a field (``--batch-size``)."""
    flags = f.metadata.get("flags")
    return flags[0] if flags else "--" + f.name.replace("_", "-")


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def strip_optional(tp: Any) -> tuple[Any, bool]:
    """``(T, True)`` for a field type ``T | None``, ``(T, False)`` for ``T`` (fields hold one type, or None)."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) != 1:
            raise TypeError(f"a configuration field holds one type (or None), not {tp}")
        return args[0], True
    return tp, False


def _scalar(name: str, tp: Any, value: Any) -> Any:
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{name}: expected true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (
                isinstance(value, float) and not value.is_integer()):
            raise ConfigError(f"{name}: expected an integer, got {value!r}")
        return int(value)
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{name}: expected a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{name}: expected a string, got {value!r}")
        return value
    raise TypeError(f"{name}: unsupported field type {tp}")


def coerce(f: dataclasses.Field, tp: Any, value: Any) -> Any:
    """``value`` (from JSON, YAML, the command line or Python) as field ``f`` of type ``tp`` holds it: lists
    become tuples, integral floats ints; anything else of the wrong type is a :class:`ConfigError`."""
    name = flag_of(f)
    tp, optional = strip_optional(tp)
    if value is None:
        if optional:
            return None
        raise ConfigError(f"{name}: expected a value, got null")
    if typing.get_origin(tp) is tuple:
        args = typing.get_args(tp)
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{name}: expected a list, got {value!r}")
        if len(args) == 2 and args[1] is Ellipsis:
            if not value:
                raise ConfigError(f"{name}: expected at least one value, got none")
            return tuple(_scalar(name, args[0], v) for v in value)
        if len(value) != len(args):
            raise ConfigError(f"{name}: expected {len(args)} values, got {len(value)}")
        return tuple(_scalar(name, a, v) for a, v in zip(args, value))
    return _scalar(name, tp, value)


def _check_number(f: dataclasses.Field, value: float) -> None:
    meta, name = f.metadata, flag_of(f)
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{name} must be a finite number, got {value}")
    low, high = meta.get("low"), meta.get("high")
    if low is not None and (value <= low if meta.get("low_open") else value < low):
        where = f"> {low:g}" if meta.get("low_open") else f">= {low:g}"
        raise ConfigError(f"{name} must be {where}, got {value:g}")
    if high is not None and value > high:
        raise ConfigError(f"{name} must be <= {high:g}, got {value:g}")


class Section:
    """Behaviour shared by the configuration parts: fields checked and converted after ``__init__``,
    :meth:`from_dict` refusing unknown keys, :meth:`to_dict` giving JSON-ready values."""

    #: Name of the part in a configuration file.
    section: ClassVar[str] = ""

    def __post_init__(self) -> None:
        hints = _hints(type(self))
        for f in fields(self):  # type: ignore[arg-type]
            value = coerce(f, hints[f.name], getattr(self, f.name))
            object.__setattr__(self, f.name, value)
            choices = f.metadata.get("choices")
            items = value if isinstance(value, tuple) else (value,)
            for item in items:
                if choices is not None and item is not None and item not in choices:
                    raise ConfigError(f"{flag_of(f)}: expected one of {', '.join(map(str, choices))}, got {item!r}")
                if isinstance(item, (int, float)) and not isinstance(item, bool):
                    _check_number(f, item)
        self.check()

    def check(self) -> None:
        """Checks between fields of this part (override)."""

    @classmethod
    def field_names(cls) -> set[str]:
        return {f.name for f in fields(cls)}  # type: ignore[arg-type]

    @classmethod
    def from_dict(cls, values: Mapping[str, Any], base: Section | None = None) -> Any:
        """This part from a mapping of field names (``batch_size`` or ``batch-size``) to values, on top of
        ``base`` (default: the dataclass defaults). Unknown names are a :class:`ConfigError`."""
        values = {str(k).replace("-", "_"): v for k, v in values.items()}
        unknown = sorted(set(values) - cls.field_names())
        if unknown:
            raise ConfigError(f"unknown {cls.section} option(s) {', '.join(unknown)} (known: "
                              f"{', '.join(sorted(cls.field_names()))})")
        if base is None:
            return cls(**values)
        return dataclasses.replace(base, **values)  # type: ignore[type-var]

    def to_dict(self) -> dict[str, Any]:
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}  # type: ignore[arg-type]


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


# ------------------------------------------------------------------------------------------------ the whole
#: Top-level keys of the flat ``config.json`` written before typed configurations, and the fields they became
#: (``True``: the sense turned round, ``--no-mask`` is ``mask = False``).
LEGACY_KEYS: dict[str, tuple[str, bool]] = {"no_mask": ("mask", True), "no_share_within": ("share_within", True),
                                            "no_monitor_test": ("monitor_test", True),
                                            "no_progress": ("progress", True), "patience": ("plateau_patience", False)}
#: Flat keys whose ``null`` meant "the recipe's value" (today's configuration names that value).
LEGACY_RECIPE_VALUE = ("optimizer", "lr_decay", "weight_decay", "data_root")


def from_legacy(values: Mapping[str, Any]) -> dict[str, Any]:
    """A configuration mapping with the flat keys of older run folders' ``config.json`` renamed (:data:`LEGACY_KEYS`)
    and their "the recipe's value" ``null`` left out, so that those folders replay; anything else unchanged."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        name = str(key).replace("-", "_")
        if name in LEGACY_KEYS:
            field_name, negated = LEGACY_KEYS[name]
            out[field_name] = (not value) if negated and isinstance(value, bool) else value
        elif not (name in LEGACY_RECIPE_VALUE and value is None):
            out[key] = value
    return out


@dataclass(frozen=True)
class RecipeConfig:
    """A recipe's whole configuration: ``recipe`` (its name), and its ``data``, ``model``, ``optim``, ``protocol``
    and ``run`` parts (see the module docstring). Built and checked once; :meth:`replace` gives a changed copy.

    ``argv`` is the command line it was parsed from (recorded in ``provenance.json``), not part of the
    configuration: it is neither compared nor written."""

    recipe: str
    data: Any
    model: Any
    optim: Any
    protocol: Any
    run: Any
    argv: tuple[str, ...] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        for name in SECTIONS:
            if not isinstance(getattr(self, name), Section):
                raise TypeError(f"RecipeConfig.{name} must be a configuration section, got "
                                f"{type(getattr(self, name)).__name__}")
        self.check()

    def check(self) -> None:
        """Checks between parts: what no single option can refuse on its own."""
        model, protocol = self.model, self.protocol
        if getattr(model, "stepwise", False):
            if protocol.selection == "inner-cv":
                raise ConfigError("stepwise training moves between steps on a validation split (--selection "
                                  "val-split: Algorithm 1) or after a fixed number of epochs per step (--selection "
                                  "none); inner cross-validation does not choose its schedule: use one of those or "
                                  "--training direct")
            if protocol.selection == "val-split" and protocol.val_fraction <= 0:
                raise ConfigError("stepwise training on a validation split (Algorithm 1) needs --val-fraction > 0 "
                                  "(or --selection none: a fixed number of epochs per step)")
            if protocol.selection == "none" and model.stepwise_max_epochs == 0:
                raise ConfigError("stepwise training without a validation split (--selection none) moves on after "
                                  "--stepwise-max-epochs epochs per step: give it a positive value (0 means no "
                                  "bound)")

    def replace(self, **parts: Any) -> RecipeConfig:
        """A copy with whole parts replaced, or with fields of a part changed: ``replace(optim={"epochs": 5})``."""
        changed = {}
        for name, value in parts.items():
            if name not in SECTIONS:
                raise ConfigError(f"unknown configuration part {name!r} (parts: {', '.join(SECTIONS)})")
            changed[name] = value if isinstance(value, Section) else type(getattr(self, name)).from_dict(
                value, getattr(self, name))
        return dataclasses.replace(self, **changed)

    def to_dict(self) -> dict[str, Any]:
        """The configuration as written to ``config.json`` and read back by :meth:`from_dict`."""
        return {"recipe": self.recipe, **{name: getattr(self, name).to_dict() for name in SECTIONS}}

    def field_sections(self) -> dict[str, str]:
        """Every field name and the part that holds it (field names are unique across the parts)."""
        return {f: name for name in SECTIONS for f in type(getattr(self, name)).field_names()}

    def updated(self, values: Mapping[str, Any]) -> RecipeConfig:
        """This configuration with the values of a configuration mapping applied: parts (``{"optim": {"epochs":
        5}}``) or, as the flat ``config.json`` of older runs, field names at the top level (``{"epochs": 5}``).
        A ``recipe`` other than this one's, an unknown part or field, or a refused value is a
        :class:`ConfigError`."""
        parts: dict[str, dict[str, Any]] = {}
        where = self.field_sections()
        unknown = []
        for key, value in from_legacy(values).items():
            key = str(key).replace("-", "_")
            if key == "recipe":
                if value != self.recipe:
                    raise ConfigError(f"a configuration of recipe {value!r}, not of {self.recipe!r}")
            elif key in SECTIONS and isinstance(value, Mapping):
                parts.setdefault(key, {}).update(value)
            elif key in where:  # a flat file; a field may share a part's name (UTKinect's protocol)
                parts.setdefault(where[key], {})[key] = value
            elif key in SECTIONS:
                raise ConfigError(f"{key}: expected a mapping of option names to values, got {value!r}")
            else:
                unknown.append(key)
        if unknown:
            raise ConfigError(f"unknown option(s) {', '.join(sorted(unknown))} for recipe {self.recipe} (known: "
                              f"{', '.join(sorted(where))})")
        return self.replace(**parts)
