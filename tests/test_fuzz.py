"""Property: whatever bytes arrive, the intake and the colorizer give an image of the right size or an
ImageError, quickly (issue 10). Bounded to a few seconds here; `python -m bench.fuzz` runs 20,000 cases."""
from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.fuzz import check, mutate, seeds

CORPUS = seeds()
FAST = settings(max_examples=150, deadline=3000, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(st.binary(max_size=2048))
def test_any_bytes(colorizer_model, data):
    assert check(data, colorizer_model) in ("image", "refused")


@FAST
@given(st.sampled_from(CORPUS), st.integers(0, 2**32 - 1))
def test_mutated_files_of_every_accepted_format(colorizer_model, seed_file, rng_seed):
    data = mutate(random.Random(rng_seed), seed_file, CORPUS)
    assert check(data, colorizer_model) in ("image", "refused")


def test_every_seed_is_accepted(colorizer_model):
    outcomes = [check(data, colorizer_model) for data in CORPUS]
    assert outcomes[:-2] == ["image"] * (len(CORPUS) - 2) and outcomes[-2:] == ["refused", "refused"]
