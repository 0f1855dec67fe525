"""Model builders of the recipes: a model from its typed options, and the keyword arguments a checkpoint stores to
rebuild it."""

from __future__ import annotations

from typing import Any

from skelgraph.recipes.sections import ARRNOptions, GCAOptions

#: Bodies side by side per joint with ``--bodies stacked`` (NTU's body selection and SBU keep at most two).
STACKED_BODIES = 2


def build_arrn_model(options: ARRNOptions, num_classes: int, **overrides: Any) -> Any:
    """ARRN-LSTM from ``options`` on top of its paper preset (``options.preset``: ``"ntu"``, ``"ntu120"``,
    ``"msr"``, ``"florence"``; see :meth:`~skelgraph.nn.ARRNLSTM.from_paper`); ``overrides`` set any other field
    (e.g. ``num_joints`` and ``in_channels`` for a layout of your own; ``line_channels``, the coordinates per
    joint, for ``options.line_velocity=False``, which the caller knows from its pipeline)."""
    from skelgraph.nn.arrn import ARRNLSTM

    if options.alpha is not None:  # a fixed fusion weight fuses the validation curves too
        overrides.setdefault("alpha", options.alpha)
    if options.lstm_sizes:
        overrides.setdefault("lstm_sizes", tuple(options.lstm_sizes))
    if not options.relational:
        overrides.setdefault("relational", False)
    if options.forget_bias:
        overrides.setdefault("forget_bias", options.forget_bias)
    for name, default in (("embedding", "shared"), ("line_slots", "skip"), ("message_channels", None),
                          ("attention_fc", "frame"), ("objective", "streams"), ("mask_init", "ones"),
                          ("mask_norm", "none"), ("rrn_init", "input"), ("message_relu", False),
                          ("embedding_relu", False)):
        if getattr(options, name) != default:  # only then, so that earlier checkpoints keep their stored arguments
            overrides.setdefault(name, getattr(options, name))
    return ARRNLSTM.from_paper(options.preset, num_classes=num_classes, T=options.T, M=options.M, E=options.E,
                               streams=options.streams(), mask=options.mask, dropout=options.dropout,
                               checkpoint=options.checkpoint_activations, readout=options.readout, **overrides)


def build_gca_model(options: GCAOptions, layout: Any, num_classes: int,
                    in_channels: int = 3) -> tuple[Any, dict[str, Any]]:
    """``options.model`` (GCA-LSTM, two-stream GCA-LSTM or an ST-LSTM baseline) and the keyword arguments it was
    built with (what a checkpoint stores to rebuild it). ``in_channels``: features per joint
    (:func:`~skelgraph.training.registry.pipeline_channels`: 3 for 3-D joints, 2 for 2-D, 6 with two stacked 3-D
    bodies, ...)."""
    from skelgraph.nn.gca_lstm import GCALSTM, STLSTMClassifier, TwoStreamGCALSTM

    common = dict(layout=layout, num_classes=num_classes, num_frames=options.T, hidden_channels=options.hidden,
                  in_channels=in_channels, dropout=options.dropout, chain=options.chain,
                  forget_bias=options.forget_bias)
    if options.model in ("gca", "gca2"):
        kwargs = dict(common, num_iterations=options.N, init=options.init, attention=options.attention,
                      share_within=options.share_within, share_across=options.share_across)
        cls = GCALSTM if options.model == "gca" else TwoStreamGCALSTM
    else:
        head = {"st-lstm": "local", "global1": "global_fc", "global2": "global_mean"}[options.model]
        kwargs, cls = dict(common, head=head), STLSTMClassifier
        if options.trust_gate:  # only then, so that checkpoints of the plain baselines keep their stored arguments
            kwargs["trust_gate"] = True
    return cls(**kwargs), kwargs
