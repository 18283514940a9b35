"""Exact length conversions for survey data."""

from .convert import convert
from .units import LENGTHS

__all__ = ["convert", "LENGTHS"]
