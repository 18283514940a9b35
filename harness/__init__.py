"""Files that run inside eval containers (standard library only). Installed as the package data
resq_runner._harness; see resq_runner/resources.py."""
