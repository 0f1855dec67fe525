"""The command line of a recipe, generated from its configuration's fields: the only place that sees argparse.

:func:`parse_config` reads ``--config FILE`` (JSON or YAML; e.g. ``RUN/config.json`` to replay a run), then the
options on the command line, then the recipe's rules (:class:`Recipe.resolve`: defaults that depend on other
choices, ``--paper-setting``), and builds one checked :class:`~skelgraph.recipes.config.RecipeConfig`.
``--print-config`` prints it as JSON and exits. Every refused value is one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import sys
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from skelgraph.recipes.config import (
    SECTIONS,
    ConfigError,
    RecipeConfig,
    flag_of,
    from_legacy,
    strip_optional,
)
from skelgraph.recipes.files import load_config_file

#: A replay of a run folder's config.json writes here (inside that folder) unless --out is given.
REPLAY_DIR = "replay"
#: Fields that say where a run writes and whether it continues: recorded, but a replay does not take them from the
#: file (it would write into, or resume, the run it replays).
PLACEMENT = ("run.out", "run.resume")

#: A rule from options to settings: changes the plain configuration mapping (``{"optim": {"epochs": ...}}``) in
#: place, leaving the options in ``given`` (``"optim.epochs"``: set on the command line or in ``--config``) alone.
Resolve = Callable[[dict[str, Any], frozenset[str]], None]


@dataclass(frozen=True)
class Recipe:
    """A command-line recipe: its ``defaults`` (a whole configuration), its ``resolve`` rule, the ``description``
    of ``--help`` and the program name shown there (default: the script's)."""

    description: str
    defaults: Callable[[], RecipeConfig]
    resolve: Resolve | None = None
    prog: str | None = None


def _number(kind: type) -> Callable[[str], Any]:
    def convert(text: str) -> Any:
        try:
            return kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {'an integer' if kind is int else 'a number'}, got "
                                             f"{text!r}") from None
    convert.__name__ = kind.__name__
    return convert


def _add_field(parser: Any, part: str, f: dataclasses.Field, tp: Any, default: Any) -> None:
    meta = f.metadata
    flags = meta.get("flags") or (flag_of(f),)
    shown = json.dumps(list(default) if isinstance(default, tuple) else default)
    text = f"{meta.get('help', '')} (default: {shown.replace('%', '%%')})"
    kw: dict[str, Any] = dict(dest=f"{part}.{f.name}", default=argparse.SUPPRESS, help=text)
    base, _ = strip_optional(tp)
    if base is bool:
        if meta.get("boolean_optional"):
            kw["action"] = argparse.BooleanOptionalAction
        else:
            kw["action"] = "store_false" if meta.get("negate") else "store_true"
        parser.add_argument(*flags, **kw)
        return
    if typing.get_origin(base) is tuple:
        args = typing.get_args(base)
        base = args[0]
        kw["nargs"] = "+" if args[-1] is Ellipsis else len(args)
    if base in (int, float):
        kw["type"] = _number(base)
    if meta.get("choices") is not None:
        kw["choices"] = list(meta["choices"])
    if meta.get("metavar") is not None:
        kw["metavar"] = meta["metavar"]
    elif meta.get("choices") is None:
        kw["metavar"] = f.name.upper()  # --epochs EPOCHS, not the part-qualified destination
    parser.add_argument(*flags, **kw)


def build_parser(recipe: Recipe, defaults: RecipeConfig | None = None) -> argparse.ArgumentParser:
    """The recipe's parser: one option per configuration field (``--help`` shows each field's documentation and
    default), plus ``--config`` and ``--print-config``."""
    from skelgraph.training.runs import OneLineParser

    defaults = defaults or recipe.defaults()
    p = OneLineParser(prog=recipe.prog, description=recipe.description)
    for part in ("data", "optim", "run", "model", "protocol"):
        section = getattr(defaults, part)
        group = p.add_argument_group(f"{part} ({type(section).__name__})")
        hints = typing.get_type_hints(type(section))
        for f in fields(section):
            _add_field(group, part, f, hints[f.name], getattr(section, f.name))
    p.add_argument("--config", metavar="FILE", default=None,
                   help="take option values from a JSON or YAML file (a file of recipes/configs/, or RUN/config.json "
                        "to replay a run); options on the command line override it")
    p.add_argument("--print-config", action="store_true", help="print the resolved configuration as JSON and exit")
    return p


def _merge(into: dict[str, Any], values: dict[str, Any]) -> None:
    for part, items in values.items():
        into.setdefault(part, {}).update(items)


def _file_values(template: RecipeConfig, path: str) -> dict[str, dict[str, Any]]:
    """The options a ``--config`` file sets, by part (flat files of older runs included), placement left out."""
    values = from_legacy(load_config_file(path))
    checked = template.updated(values)  # unknown parts, fields and refused values raise here
    where = template.field_sections()
    out: dict[str, dict[str, Any]] = {}
    for key, value in values.items():
        key = str(key).replace("-", "_")
        if key in SECTIONS and isinstance(value, dict):
            for name in value:
                name = str(name).replace("-", "_")
                out.setdefault(key, {})[name] = getattr(getattr(checked, key), name)
        elif key in where:
            out.setdefault(where[key], {})[key] = getattr(getattr(checked, where[key]), key)
    for placement in PLACEMENT:
        part, name = placement.split(".")
        out.get(part, {}).pop(name, None)
    return out


def parse_config(recipe: Recipe, argv: Sequence[str] | None = None) -> RecipeConfig:
    """The recipe's configuration from ``argv`` (default ``sys.argv[1:]``): its defaults, replaced by a
    ``--config`` file's values, replaced by the options on the command line; then the recipe's rules for what
    was not given; then checked as a whole. A refused value exits with code 2 and one line; ``--print-config``
    prints the result and exits with 0. ``out`` and ``resume`` are not taken from the file, and replaying a run
    folder's ``config.json`` writes into ``RUN/replay`` unless ``--out`` is given."""
    from skelgraph.training import provenance

    argv = list(sys.argv[1:] if argv is None else argv)
    defaults = recipe.defaults()
    parser = build_parser(recipe, defaults)
    parsed = vars(parser.parse_args(argv))
    config_path, print_config = parsed.pop("config"), parsed.pop("print_config")
    values: dict[str, dict[str, Any]] = {}
    if config_path is not None:
        try:
            values = _file_values(defaults, config_path)
        except (OSError, ValueError) as err:
            parser.exit(2, f"{parser.prog}: error: --config {config_path}: {' '.join(str(err).split())}\n")
    _merge(values, _by_part(parsed))
    if "lr_decay" in values.get("optim", {}) and "schedule" not in values["optim"]:  # --lr-decay picks its schedule
        values["optim"]["schedule"] = "exponential" if values["optim"]["lr_decay"] != 1.0 else "none"
    given = frozenset(f"{part}.{name}" for part, items in values.items() for name in items)
    plain = defaults.to_dict()
    _merge(plain, values)
    if config_path is not None and "run.out" not in given:
        run_dir = Path(config_path).parent
        if (run_dir / provenance.PROVENANCE_FILE).exists():
            plain["run"]["out"] = str(run_dir / REPLAY_DIR)
    if recipe.resolve is not None:
        recipe.resolve(plain, given)
    try:
        config = dataclasses.replace(defaults.updated(plain), argv=tuple(argv))
    except ConfigError as err:
        parser.exit(2, f"{parser.prog}: error: {err}\n")
    if print_config:
        print(json.dumps(config.to_dict(), indent=2))
        parser.exit(0)
    return config


def _by_part(parsed: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for dest, value in parsed.items():
        part, name = dest.split(".", 1)
        out.setdefault(part, {})[name] = copy.copy(value)
    return out


def set_unless_given(plain: dict[str, Any], given: frozenset[str], values: dict[str, dict[str, Any]]) -> None:
    """Set every ``values[part][field]`` in ``plain`` whose option is not in ``given`` (a rule's usual step)."""
    for part, items in values.items():
        for name, value in items.items():
            if f"{part}.{name}" not in given:
                plain[part][name] = value
