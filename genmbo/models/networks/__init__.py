"""Plain `nn.Module`s: they know nothing of Lightning, optimizers or data."""
