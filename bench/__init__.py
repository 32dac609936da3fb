"""Benchmarks: model latency against peers, the colorization pipeline stage by stage, the website
under load, training throughput. Run them all with `python -m bench`; results in bench/RESULTS.md.

Not tests: nothing here is collected by pytest (testpaths = tests).
"""
