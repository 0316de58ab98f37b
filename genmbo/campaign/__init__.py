"""A design campaign, stage by stage: load the data, fit the models, search, make the library
(`genmbo.campaign.pipeline`); `genmbo.campaign.design` writes it out, as `genmbo design` does."""
