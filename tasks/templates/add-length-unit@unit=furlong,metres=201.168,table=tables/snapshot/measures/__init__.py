"""Exact length conversions for survey data."""

from .convert import convert
from .tables import LENGTHS

__all__ = ["convert", "LENGTHS"]
