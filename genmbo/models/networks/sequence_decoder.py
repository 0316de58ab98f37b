"""Autoregressive decoder of a sequence VAE: a latent code and the tokens so far to next-token logits.

Follows the decoder of Bowman et al. (CoNLL 2016, arXiv 1511.06349, sec. 2.1) and of Gómez-Bombarelli
et al. (ACS Cent. Sci. 2018, "Automatic chemical design using a data-driven continuous representation of
molecules", sec. "Methods"): a GRU whose initial state is a function of z. Departure, as in the MOSES
VAE baseline (Polykovskiy et al., Front. Pharmacol. 2020): z is also concatenated to every input
embedding, so the decoder cannot "forget" the latent over long molecules, which weakens posterior collapse.

`generate` decodes one token at a time with the GRU's equations written out (PyTorch's `nn.GRU`
gates: ``r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)``, ``u = sigmoid(W_iz x + b_iz + W_hz h + b_hz)``,
``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``, ``h' = n + u * (h - n)``), so that the parts of the input
that do not change are computed once: the first layer's input is ``[embedding(token), z]``, whose
projection is a lookup in the embedding table projected once plus z's projection per sequence. Finished
sequences leave the batch. Greedy decoding gives the same tokens as stepping `forward` at about half its
cost; sampled decoding draws for the unfinished rows only.
"""

from __future__ import annotations

import torch
from einops import rearrange, repeat
from torch import nn

from genmbo.spaces.vocabulary import BOS_ID, EOS_ID, PAD_ID


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

    @torch.no_grad()
    def generate(
        self,
        latents: torch.Tensor,
        allowed: torch.Tensor,
        temperature: float = 0.0,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Decode `batch x latent_dim` latents to `batch x width` ids (BOS, tokens, EOS, padding).

        `allowed` (`width - 1 x vocab` bool) masks the tokens each position may take; greedy when
        `temperature` is 0, else sampled from the softmax at that temperature with `generator`.
        """
        batch, width = latents.shape[0], allowed.shape[0] + 1
        tokens = torch.full((batch, width), PAD_ID, dtype=torch.long, device=latents.device)
        tokens[:, 0] = BOS_ID
        embedding_width = self.embedding.embedding_dim
        first_input = self.gru.weight_ih_l0
        token_gates = self.embedding.weight @ first_input[:, :embedding_width].T
        latent_gates = torch.addmm(self.gru.bias_ih_l0, latents, first_input[:, embedding_width:].T)
        states = list(self.initial_state(latents).unbind(0))
        rows = torch.arange(batch, device=latents.device)
        previous = tokens[:, 0]
        for position in range(1, width):
            input_gates = token_gates[previous] + latent_gates
            for layer in range(self.num_layers):
                if layer > 0:
                    weight, bias = self._weights("ih", layer)
                    input_gates = torch.addmm(bias, states[layer - 1], weight.T)
                states[layer] = self._cell(input_gates, states[layer], layer)
            logits = self.to_logits(states[-1]).masked_fill(~allowed[position - 1], float("-inf"))
            if temperature > 0:
                probabilities = torch.softmax(logits / temperature, dim=-1)
                chosen = torch.multinomial(probabilities, 1, generator=generator).squeeze(1)
            else:
                chosen = logits.argmax(dim=-1)
            tokens[rows, position] = chosen
            going = chosen != EOS_ID
            if not bool(going.any()):
                break
            if not bool(going.all()):
                rows, chosen, latent_gates = rows[going], chosen[going], latent_gates[going]
                states = [state[going] for state in states]
            previous = chosen
        return tokens

    def _weights(self, kind: str, layer: int) -> tuple[torch.Tensor, torch.Tensor]:
        return getattr(self.gru, f"weight_{kind}_l{layer}"), getattr(self.gru, f"bias_{kind}_l{layer}")

    def _cell(self, input_gates: torch.Tensor, state: torch.Tensor, layer: int) -> torch.Tensor:
        """One GRU step of `layer` from its input's projection (`batch x 3 hidden`, bias included)."""
        weight, bias = self._weights("hh", layer)
        hidden_gates = torch.addmm(bias, state, weight.T)
        input_reset, input_update, input_new = input_gates.chunk(3, dim=1)
        hidden_reset, hidden_update, hidden_new = hidden_gates.chunk(3, dim=1)
        reset = torch.sigmoid(input_reset + hidden_reset)
        update = torch.sigmoid(input_update + hidden_update)
        new = torch.tanh(input_new + reset * hidden_new)
        return new + update * (state - new)


class PositionwiseSequenceDecoder(nn.Module):
    """Non-autoregressive decoder: `latents` (`batch x latent_dim`) -> `batch x steps x vocab` logits at once.

    Every position is predicted from z alone (an MLP), so the decoder cannot model the sequence without
    the latent: no posterior collapse, and decoding is one matrix product instead of a loop. It suits
    fixed-length spaces (TFBind8, Ehrlich), where the autoregressive decoder learned the transition
    statistics and ignored z (see `genmbo.models.sequence_vae`).
    """

    def __init__(self, vocab_size: int, latent_dim: int, steps: int, hidden_dim: int = 256):
        super().__init__()
        self.steps, self.vocab_size = steps, vocab_size
        self.network = nn.Sequential(
            nn.Linear(latent_dim, hidden_dim),
            nn.SiLU(),
            nn.Linear(hidden_dim, hidden_dim),
            nn.SiLU(),
            nn.Linear(hidden_dim, steps * vocab_size),
        )

    def forward(self, latents: torch.Tensor) -> torch.Tensor:
        logits = self.network(latents)
        return rearrange(logits, "batch (steps vocab) -> batch steps vocab", vocab=self.vocab_size)


class ConvolutionalSequenceDecoder(nn.Module):
    """Non-autoregressive decoder of a latent map: `latents` (`batch x (positions * latent_channels)`) ->
    `batch x steps x vocab` logits, with ``steps <= positions * stride``.

    The companion of `ConvolutionalSequenceEncoder`: a 1x1 convolution, a transposed convolution that
    spreads each latent position over `stride` tokens, and two same-length convolutions, so each token's
    logits see its neighbours' latents (local consistency, such as allowed transitions).
    """

    def __init__(
        self,
        vocab_size: int,
        latent_channels: int,
        steps: int,
        stride: int = 2,
        channels: int = 32,
        kernel_size: int = 5,
    ):
        super().__init__()
        self.steps, self.latent_channels = steps, latent_channels
        padding = kernel_size // 2
        self.network = nn.Sequential(
            nn.Conv1d(latent_channels, channels, 1),
            nn.SiLU(),
            nn.ConvTranspose1d(channels, channels, stride, stride=stride),
            nn.SiLU(),
            nn.Conv1d(channels, channels, kernel_size, padding=padding),
            nn.SiLU(),
            nn.Conv1d(channels, vocab_size, kernel_size, padding=padding),
        )

    def forward(self, latents: torch.Tensor) -> torch.Tensor:
        latent_map = rearrange(
            latents, "batch (positions channels) -> batch channels positions", channels=self.latent_channels
        )
        logits = self.network(latent_map)[:, :, : self.steps]
        return rearrange(logits, "batch vocab steps -> batch steps vocab")
