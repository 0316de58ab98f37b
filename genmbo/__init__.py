"""genmbo: offline model-based optimization with generative models.

From a static dataset of designs (molecules, biological sequences, real vectors) and their measured
scores, genmbo proposes new candidates that should score higher, stay realistic, and be novel and diverse.
"""

__version__ = "0.1.0"
