"""Gradient-norm probe on MSR AS2 inner fold 1 (training subjects only): records the total grad norm per step."""
import json, sys, tempfile
import torch
import skelgraph.training.engine as engine
import skelgraph.recipes.base as rb
norms = []
orig = torch.nn.utils.clip_grad_norm_
def rec(params, max_norm, *a, **k):
    n = orig(params, max_norm, *a, **k); norms.append(float(n)); return n
engine.nn.utils.clip_grad_norm_ = rec
class Stop(Exception): pass
class T(engine.Trainer):
    def _end_of_epoch(self, record):
        out = super()._end_of_epoch(record)
        e = record["epoch"]
        new = norms[self.__dict__.setdefault("seen", 0):]; self.seen = len(norms)
        print(e, round(record["train_loss"], 3), "norm median/max", round(sorted(new)[len(new)//2], 2),
              round(max(new), 2), len(new), flush=True)
        if e >= int(sys.argv[1]): raise Stop
        return out
engine.Trainer = T
rb.prepare_splits = lambda *a, **k: (_ for _ in ()).throw(Stop)
from skelgraph.recipes import arrn_msr
try:
    arrn_msr.main(["--subset", "AS2", "--selection", "inner-cv", "--epochs", "180", "--grad-clip", "1e9",
                   "--ema", "0", "--out", tempfile.mkdtemp(), "--no-progress", "--seed", "0"])
except Stop:
    pass
json.dump(norms, open("/tmp/probe/norms.json", "w"))
