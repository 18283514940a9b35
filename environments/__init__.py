"""The built-in environment definitions. Installed as the package data resq_runner._environments; see
resq_runner/resources.py."""
