"""Importers and exporters: other benchmarks' files in, ordinary task folders out; run results out in the shapes
other harnesses read (SWE-bench predictions and reports, RES-Q submissions and results)."""
