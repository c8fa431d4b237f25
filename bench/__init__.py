"""Benchmarks: run one as `python -m bench.<name>`; each prints its figures
beside a baseline measured in the same run, as ratios."""
