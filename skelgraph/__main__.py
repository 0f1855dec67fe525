"""``python -m skelgraph``: print the version, the optional accelerations found, and the built-in layouts."""

import torch
import torch_geometric

import skelgraph
from skelgraph.skeleton import LAYOUTS


def main() -> None:
    try:
        import torch_scatter  # noqa: F401

        scatter = f"torch_scatter {torch_scatter.__version__}"
    except ImportError:
        scatter = "torch_scatter not installed (torch's native scatter is used)"
    print(f"skelgraph {skelgraph.__version__} | torch {torch.__version__} | torch_geometric "
          f"{torch_geometric.__version__} | {scatter} | CUDA available: {torch.cuda.is_available()}")
    for layout in LAYOUTS.values():
        chain = layout.chain()
        centre = ", ".join(layout.center) if layout.center is not None else "every joint"
        print(f"\n{layout}: root {layout.root}, centre {centre}")
        print(f"  tree traversal ({len(chain)} steps): " + " ".join(layout.joints[i] for i in chain))


if __name__ == "__main__":
    main()
