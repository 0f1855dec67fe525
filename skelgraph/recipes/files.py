"""Reading configuration files: JSON, or YAML with PyYAML, bounded in size and nesting before they are parsed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

#: Nesting a configuration file may have (sections, their values, a list value): deeper files are refused before
#: they are read into Python objects.
MAX_CONFIG_DEPTH = 8
#: Size of a configuration file, at most (bytes).
MAX_CONFIG_BYTES = 1 << 20


def _depth(text: str) -> int:
    """Deepest bracket nesting of a JSON / YAML flow text outside strings (a bound checked before parsing:
    Python's parsers recurse once per level)."""
    depth = deepest = 0
    quote = ""
    escaped = False
    for ch in text:
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def load_config_file(path: str | Path) -> dict[str, Any]:
    """A configuration mapping from a JSON file or a YAML file (``.yaml`` / ``.yml``, needs PyYAML). Files over
    :data:`MAX_CONFIG_BYTES` or nested deeper than :data:`MAX_CONFIG_DEPTH` are refused (``ValueError``)."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path}: a folder, not a configuration file")
    with open(path, "rb") as handle:
        raw = handle.read(MAX_CONFIG_BYTES + 1)
    if len(raw) > MAX_CONFIG_BYTES:
        raise ValueError(f"{path}: larger than {MAX_CONFIG_BYTES} bytes, not a configuration file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from err
    if _depth(text) > MAX_CONFIG_DEPTH:
        raise ValueError(f"{path}: nested deeper than {MAX_CONFIG_DEPTH} levels, not a configuration file")
    try:
        if path.suffix in (".yaml", ".yml"):
            values = _load_yaml(path, text)
        else:
            try:
                values = json.loads(text)
            except json.JSONDecodeError as err:
                raise ValueError(f"{path}, line {err.lineno}: not valid JSON ({err.msg})") from err
    except RecursionError as err:  # block-style YAML nests without brackets
        raise ValueError(f"{path}: nested too deeply, not a configuration file") from err
    if not isinstance(values, dict):
        raise ValueError(f"{path}: expected a mapping of option names to values, got {type(values).__name__}")
    return values


def _load_yaml(path: Path, text: str) -> Any:
    try:
        import yaml
    except ImportError as err:
        raise ValueError(f"{path}: reading YAML needs PyYAML (pip install pyyaml), or use JSON") from err
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ValueError(f"{path}: not valid YAML ({err})".replace("\n", " ")) from err
