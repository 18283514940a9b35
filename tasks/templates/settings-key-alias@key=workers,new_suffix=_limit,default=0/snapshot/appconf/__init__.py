"""Loading application settings from INI-style key = value text."""

from .settings import Settings, load_settings

__all__ = ["Settings", "load_settings"]
