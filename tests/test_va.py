"""VA standardisation modes (SPEC section 3)."""

import pytest
import torch

from univa.data.va import normalize_va


def test_reference_uses_valence_statistics_for_both_columns() -> None:
    values = torch.tensor([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0], [6.0, 0.0]])
    out = normalize_va(values)
    mean, std = values[:, 0].mean(), values[:, 0].std()  # n - 1 denominator
    torch.testing.assert_close(out, (values - mean) / std)
    assert out[:, 0].mean().abs() < 1e-6
    assert out[:, 1].mean().abs() > 1.0  # arousal is NOT centred: the original's quirk


def test_per_dim_standardises_each_column() -> None:
    values = torch.randn(30, 2) * torch.tensor([2.0, 5.0]) + torch.tensor([1.0, -3.0])
    out = normalize_va(values, "per_dim")
    torch.testing.assert_close(out.mean(0), torch.zeros(2), atol=1e-5, rtol=0)
    torch.testing.assert_close(out.std(0), torch.ones(2), atol=1e-5, rtol=0)


def test_none_returns_a_copy() -> None:
    values = torch.randn(5, 2)
    out = normalize_va(values, "none")
    torch.testing.assert_close(out, values)
    assert out.data_ptr() != values.data_ptr()


def test_unknown_mode_lists_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="per_dim"):
        normalize_va(torch.randn(4, 2), "zscore")
