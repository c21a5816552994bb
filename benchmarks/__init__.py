"""Benchmarks and calibration. Their worlds are made to be measured once: no prepared study is kept for them
(a benchmark that measures a warm load turns the cache on for that load alone)."""

import os

os.environ.setdefault("WORKBENCH_CACHE", "off")
