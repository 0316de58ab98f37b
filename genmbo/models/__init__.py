"""LightningModules (priors, diffusion, surrogates, policies) and the plain networks they hold."""
