"""The actor and critic of PGS's conservative soft actor-critic: a tanh-Gaussian policy and a Q network.

Architectures follow the PGS reference code (Chemingui et al., AAAI 2024, arXiv 2405.05349;
``yassineCh/PGS``, ``model.py``), itself the CQL reference's (Kumar et al., NeurIPS 2020, arXiv 2006.04779):
ReLU MLPs of widths ``256-256``, a last layer initialised near zero (Xavier, gain 0.01) so the first
actions and Q values are about 0, and a tanh-squashed Gaussian policy (Haarnoja et al., ICML 2018,
arXiv 1801.01290, appendix C, eq. 21 for the log-density of the squashed sample) whose log std is
``multiplier * raw + offset`` (1 and -1) clamped to ``[-20, 2]``. Plain modules: they know nothing of
training.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn
from torch.distributions import Normal

LOG_STD_MIN = -20.0
LOG_STD_MAX = 2.0


def relu_mlp(in_dim: int, hidden_dims: Sequence[int], out_dim: int) -> nn.Sequential:
    """``Linear -> ReLU`` per hidden width, then a ``Linear`` initialised near zero (as the reference)."""
    layers: list[nn.Module] = []
    width = in_dim
    for hidden in hidden_dims:
        layers += [nn.Linear(width, hidden), nn.ReLU()]
        width = hidden
    last = nn.Linear(width, out_dim)
    nn.init.xavier_uniform_(last.weight, gain=1e-2)
    nn.init.zeros_(last.bias)
    layers.append(last)
    return nn.Sequential(*layers)


class TanhGaussianPolicyNetwork(nn.Module):
    """``pi(a | s)``: ``a = tanh(u)``, ``u ~ N(mean(s), std(s))``; actions lie in ``(-1, 1)^action_dim``.

    Args:
        state_dim: size of a state (a normalized latent for PGS).
        action_dim: size of an action (the step-size vector for PGS).
        hidden_dims: hidden widths (reference: 256, 256).
        log_std_multiplier, log_std_offset: ``log_std = multiplier * raw + offset`` (reference: 1, -1).
    """

    def __init__(
        self,
        state_dim: int,
        action_dim: int,
        hidden_dims: Sequence[int] = (256, 256),
        log_std_multiplier: float = 1.0,
        log_std_offset: float = -1.0,
    ):
        super().__init__()
        self.action_dim = action_dim
        self.network = relu_mlp(state_dim, hidden_dims, 2 * action_dim)
        self.log_std_multiplier = log_std_multiplier
        self.log_std_offset = log_std_offset

    def distribution(self, states: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and std (each `... x action_dim`) of the Gaussian before the tanh."""
        mean, raw_log_std = self.network(states).split(self.action_dim, dim=-1)
        log_std = self.log_std_multiplier * raw_log_std + self.log_std_offset
        log_std = log_std.clamp(LOG_STD_MIN, LOG_STD_MAX)
        return mean, log_std.exp()

    def forward(
        self, states: torch.Tensor, repeat: int | None = None, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """A reparameterized sample and its log-density.

        Args:
            states: a `n x state_dim` tensor.
            repeat: if given, draw `repeat` actions per state: `n x repeat x action_dim`.
            generator: the noise source (None: torch's global one).
        Returns:
            Actions (`n x action_dim` or `n x repeat x action_dim`) and their log-densities (`n` or
            `n x repeat`).
        """
        if repeat is not None:
            states = states.unsqueeze(1).expand(-1, repeat, -1)
        mean, std = self.distribution(states)
        # Drawn where the generator lives (a CPU generator also drives a model on an accelerator).
        source = generator.device if generator is not None else mean.device
        noise = torch.randn(mean.shape, generator=generator, device=source, dtype=mean.dtype).to(mean.device)
        pre_tanh = mean + std * noise
        actions = torch.tanh(pre_tanh)
        # Change of variables for the tanh (SAC, eq. 21), in the stable form
        # log(1 - tanh(u)^2) = 2 * (log 2 - u - softplus(-2u)).
        log_density = Normal(mean, std).log_prob(pre_tanh) - 2 * (
            math.log(2.0) - pre_tanh - nn.functional.softplus(-2 * pre_tanh)
        )
        return actions, log_density.sum(-1)

    def mode(self, states: torch.Tensor) -> torch.Tensor:
        """The deterministic action ``tanh(mean(s))`` (`n x action_dim`), used at test time."""
        mean, _ = self.distribution(states)
        return torch.tanh(mean)


class QNetwork(nn.Module):
    """``Q(s, a)``: an MLP on the concatenated state and action.

    Args:
        state_dim, action_dim: sizes of a state and an action.
        hidden_dims: hidden widths (reference: 256, 256).
    """

    def __init__(self, state_dim: int, action_dim: int, hidden_dims: Sequence[int] = (256, 256)):
        super().__init__()
        self.network = relu_mlp(state_dim + action_dim, hidden_dims, 1)

    def forward(self, states: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """Q values: `n` for `n x action_dim` actions, `n x m` for `n x m x action_dim` actions (the states,
        `n x state_dim`, are shared across the `m` actions of a row)."""
        if actions.dim() == 3:
            states = states.unsqueeze(1).expand(-1, actions.shape[1], -1)
        return self.network(torch.cat([states, actions], dim=-1)).squeeze(-1)
