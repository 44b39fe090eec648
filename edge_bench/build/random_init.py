"""Random-weight networks made numerically usable before export (trained weights are never touched)."""

from __future__ import annotations

# How random-weight networks are made usable (part of every build key).
RANDOM_INIT = (
    "seeded init; all-zero linear weights drawn from N(0, 0.02); batch-norm statistics re-estimated "
    "on 4 seeded standard-normal batches"
)


def prepare_random_network(model, shape: tuple[int, ...], batches: int = 4, seed: int = 1) -> None:
    """Make a randomly initialised network's outputs informative: re-estimate batch-norm running
    statistics on seeded inputs, and draw any all-zero linear weight matrix.

    With its constructor's defaults (mean 0, variance 1) a deep random network's activations shrink or
    blow up layer after layer (a random MobileNetV2's logits are ~1e-9), so INT8 against FP32 compares
    noise. Normalising each layer's activations as a trained network would keeps the numbers, and so
    the fidelity measurements, meaningful. Trained weights are never touched.
    """
    import torch

    generator = torch.Generator().manual_seed(seed)
    for module in model.modules():
        # A weight matrix initialised to zero (torchvision's ViT head) makes every output the same.
        if isinstance(module, torch.nn.Linear) and not module.weight.detach().any():
            with torch.no_grad():
                module.weight.normal_(0.0, 0.02, generator=generator)
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the batches
    model.train()
    with torch.no_grad():
        for _ in range(batches):
            model(torch.randn(max(2, shape[0]), *shape[1:], generator=generator))
    model.eval()
