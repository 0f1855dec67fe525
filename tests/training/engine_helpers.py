"""Small models and real-data loaders for the engine tests."""

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.transforms import Compose
from torch_geometric.utils import scatter

from skelgraph.data import SkeletonSequence, skeleton_batch, to_data, to_skeletons
from skelgraph.skeleton import MSR_ACTION3D
from skelgraph.transforms import CenterJoints, FixedLength

MSR_RAW = Path(__file__).resolve().parents[2] / "datasets" / "msr_action3d" / "raw" / "MSRAction3DSkeletonReal3D"


def msr_graphs(actions=(1, 5, 10, 16), subjects=(1, 2, 3), T=12):
    """Real MSR Action3D sequences (bundled files), centred and sampled to T frames; labels 0..len(actions)-1."""
    transform = Compose([CenterJoints(MSR_ACTION3D), FixedLength(T)])
    out = []
    for label, a in enumerate(actions):
        for s in subjects:
            for e in (1, 2, 3):
                f = MSR_RAW / f"a{a:02d}_s{s:02d}_e{e:02d}_skeleton3D.txt"
                if f.exists():
                    coords = np.loadtxt(f).reshape(-1, 20, 4)[:, None, :, :3]
                    out.append(transform(to_data(SkeletonSequence(coords, MSR_ACTION3D, label=label))))
    return out


class TinyModel(nn.Module):
    """A GRU over flattened joints; follows the skelgraph model contract."""

    def __init__(self, num_joints=20, num_classes=4, hidden=16, dropout=0.0):
        super().__init__()
        self.num_joints, self.num_classes = num_joints, num_classes
        self.embed = nn.Linear(3 * num_joints, hidden)
        self.gru = nn.GRU(hidden, hidden, batch_first=True)
        self.drop = nn.Dropout(dropout)
        self.fc = nn.Linear(hidden, num_classes)

    def forward(self, data):
        sk = to_skeletons(data.x, self.num_joints)  # [S, J, T, 3]
        seq = sk.permute(0, 2, 1, 3).flatten(2)
        out, _ = self.gru(torch.relu(self.embed(seq)))
        scores = self.fc(self.drop(out[:, -1]))
        return scatter(scores, skeleton_batch(data.batch, self.num_joints), dim=0, reduce="mean",
                       dim_size=int(data.num_graphs))

    def training_loss(self, data):
        return F.cross_entropy(self(data), data.y)


class TinyIterative(nn.Module):
    """Two refinement iterations with a head on each, mimicking GCA-LSTM's stepwise interface."""

    num_iterations = 2

    def __init__(self, num_joints=20, num_classes=4, hidden=16):
        self.inference_iteration = self.num_iterations
        super().__init__()
        self.num_joints, self.num_classes = num_joints, num_classes
        self.encoder = nn.Linear(3 * num_joints, hidden)
        self.refine = nn.ModuleList([nn.Linear(hidden, hidden) for _ in range(self.num_iterations)])
        self.classifier = nn.Linear(hidden, num_classes)

    def forward(self, data, iteration=None):
        n = self.inference_iteration if iteration is None else iteration
        sk = to_skeletons(data.x, self.num_joints).permute(0, 2, 1, 3).flatten(2).mean(1)
        h = torch.tanh(self.encoder(sk))
        for i in range(n):
            h = torch.relu(self.refine[i](h))
        scores = self.classifier(h)
        return scatter(scores, skeleton_batch(data.batch, self.num_joints), dim=0, reduce="mean",
                       dim_size=int(data.num_graphs))

    def training_loss(self, data, iteration=None):
        return F.cross_entropy(self(data, iteration), data.y)

    def iteration_parameters(self, n):
        params = list(self.encoder.parameters()) + list(self.classifier.parameters())
        for i in range(n):
            params += list(self.refine[i].parameters())
        return params

    def set_inference_iteration(self, n):
        self.inference_iteration = n
