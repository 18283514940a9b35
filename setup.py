"""Packages and package data that pyproject.toml cannot express: the repository's top-level harness/ and
environments/ folders ship inside the wheel as resq_runner._harness and resq_runner._environments, where
resq_runner/resources.py finds them with importlib.resources."""

from setuptools import find_packages, setup

SHIPPED = {"resq_runner._harness": "harness", "resq_runner._environments": "environments"}

setup(
    packages=find_packages(include=["resq_runner", "resq_runner.*"]) + list(SHIPPED),
    package_dir=SHIPPED,
    package_data={**{package: ["**/*"] for package in SHIPPED},  # every file, whoever adds it
                  "resq_runner.agents": ["*.yaml"], "resq_runner.reports": ["assets/*"]},
    exclude_package_data={package: ["**/__pycache__/*", "**/*.pyc"] for package in SHIPPED},
)
