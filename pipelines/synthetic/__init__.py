"""The synthetic-city generator: a true world of Bozhou and what its 32 departments hold of it.

Public API: :func:`generate_city`, :class:`CitySummary`, :class:`GenerateError` (see ``city.py``).
"""

from pipelines.synthetic.city import CitySummary, GenerateError, generate_city

__all__ = ["CitySummary", "GenerateError", "generate_city"]
