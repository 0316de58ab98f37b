"""Autoregressive decoder of a sequence VAE: a latent code and the tokens so far to next-token logits.

Follows the decoder of Bowman et al. (CoNLL 2016, arXiv 1511.06349, sec. 2.1) and of Gómez-Bombarelli
et al. (ACS Cent. Sci. 2018, "Automatic chemical design using a data-driven continuous representation of
molecules", sec. "Methods"): a GRU whose initial state is a function of z. Departure, as in the MOSES
VAE baseline (Polykovskiy et al., Front. Pharmacol. 2020): z is also concatenated to every input
embedding, so the decoder cannot "forget" the latent over long molecules, which weakens posterior collapse.
"""

from __future__ import annotations

import torch
from einops import rearrange, repeat
from torch import nn

from genmbo.spaces.vocabulary import PAD_ID


class GRUSequenceDecoder(nn.Module):
    """`latents` (`batch x latent_dim`), `inputs` (`batch x steps` ids) -> `batch x steps x vocab` logits."""

    def __init__(
        self,
        vocab_size: int,
        latent_dim: int,
        embedding_dim: int = 64,
        hidden_dim: int = 256,
        num_layers: int = 1,
        dropout: float = 0.0,
    ):
        super().__init__()
        self.num_layers = num_layers
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=PAD_ID)
        self.latent_to_state = nn.Linear(latent_dim, num_layers * hidden_dim)
        self.gru = nn.GRU(
            embedding_dim + latent_dim,
            hidden_dim,
            num_layers,
            batch_first=True,
            dropout=dropout if num_layers > 1 else 0.0,
        )
        self.to_logits = nn.Linear(hidden_dim, vocab_size)

    def initial_state(self, latents: torch.Tensor) -> torch.Tensor:
        """The GRU state before the first token: a `layers x batch x hidden` tensor."""
        state = torch.tanh(self.latent_to_state(latents))
        return rearrange(
            state, "batch (layer hidden) -> layer batch hidden", layer=self.num_layers
        ).contiguous()

    def forward(
        self, latents: torch.Tensor, inputs: torch.Tensor, state: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits for the token after each input (teacher forcing, or one step at a time with `state`)."""
        if state is None:
            state = self.initial_state(latents)
        embedded = self.embedding(inputs)
        conditioning = repeat(latents, "batch latent -> batch steps latent", steps=inputs.shape[1])
        outputs, state = self.gru(torch.cat([embedded, conditioning], dim=-1), state)
        return self.to_logits(outputs), state
