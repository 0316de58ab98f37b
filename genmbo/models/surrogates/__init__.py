"""Surrogates: the deep ensemble on latent codes (mean and std), its losses, and the design-level ensemble
that values designs by their tokens and k-mer counts."""
