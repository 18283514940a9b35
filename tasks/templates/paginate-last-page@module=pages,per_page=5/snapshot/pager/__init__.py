"""Splitting result lists into pages for the web views."""
