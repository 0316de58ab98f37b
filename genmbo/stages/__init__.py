"""The pipeline's design-level stages, the same for every search method (`genmbo.pipeline`): filtering
decoded designs, valuing designs, the portfolio of ascents from the best offline designs, polishing."""
