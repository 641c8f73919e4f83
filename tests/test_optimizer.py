"""The optimiser options refuse values AdamW or the schedule would take without a word."""

import pytest

from univa.errors import InputError
from univa.optimizer import OptimizerConfig


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("warmup_ratio", 1.5, r"model.warmup_ratio must lie in \[0, 1\), got 1.5"),
        ("lr", -1.0, "model.lr must be > 0, got -1.0"),
        ("weight_decay", -3.0, "model.weight_decay must be >= 0, got -3.0"),
        ("adam_eps", 0.0, "model.adam_eps must be > 0, got 0.0"),
    ],
)
def test_out_of_range_options_are_refused_naming_the_key(option, value, message) -> None:
    with pytest.raises(InputError, match=message):
        OptimizerConfig(**{option: value})


def test_the_defaults_are_valid() -> None:
    assert OptimizerConfig().warmup_ratio == 0.1
