"""What the model classes share: their constructor record, ``reset_parameters`` and a repr with the sizes."""

from __future__ import annotations

from typing import Any

from torch import nn

from skelgraph.skeleton import Layout


def init_arguments(frame_locals: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments a constructor was called with, from its ``locals()`` taken on its first line:
    everything :func:`skelgraph.training.registry.build_model` needs to build the model again."""
    return {k: v for k, v in frame_locals.items() if k not in ("self", "__class__")}


def reset_submodules(module: nn.Module) -> None:
    """Call ``reset_parameters()`` of every submodule that has one (layers reset their own parameters)."""
    for sub in module.modules():
        if sub is not module and hasattr(sub, "reset_parameters"):
            sub.reset_parameters()


def model_repr(module: nn.Module, keys: tuple[str, ...]) -> str:
    """``Name(key=value, ..., parameters=N)`` from the model's ``hparams`` (a layout by its name)."""
    hp = module.hparams  # type: ignore[attr-defined]
    parts = []
    for key in keys:
        value = hp[key]
        parts.append(f"{key}={value.name if isinstance(value, Layout) else value!r}")
    count = sum(p.numel() for p in module.parameters())
    return f"{type(module).__name__}({', '.join(parts)}, parameters={count:,})"
