"""Search methods in latent space: one file per method, all with the call of `genmbo.search.base`."""
