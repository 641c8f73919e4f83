"""VA standardisation modes (docs/method.md §3.5)."""

import warnings

import pytest
import torch

from univa.data.va import DegenerateVAWarning, normalize_va


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


def test_reference_without_valence_spread_gives_zero_valence_and_warns() -> None:
    values = torch.tensor([[0.3, 0.1], [0.3, 0.5], [0.3, 0.2]])
    with pytest.warns(DegenerateVAWarning, match="train audio VA: every valence is 0.3"):
        out = normalize_va(values, name="train audio VA")
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out, values - 0.3)  # valence exactly 0, arousal only centred
    assert torch.equal(out[:, 0], torch.zeros(3))


def test_per_dim_without_spread_in_one_column_zeroes_only_that_column() -> None:
    values = torch.tensor([[1.0, 7.0], [2.0, 7.0], [4.0, 7.0]])
    with pytest.warns(DegenerateVAWarning, match="every arousal is 7") as caught:
        out = normalize_va(values, "per_dim")
    assert len(caught) == 1
    assert torch.equal(out[:, 1], torch.zeros(3))
    torch.testing.assert_close(out[:, 0], (values[:, 0] - values[:, 0].mean()) / values[:, 0].std())


def test_equal_float32_scores_standardise_to_exact_zero_not_rounding_noise() -> None:
    values = torch.full((7, 2), 0.1)  # their float32 mean is not exactly 0.1
    with pytest.warns(DegenerateVAWarning):
        out = normalize_va(values, "per_dim")
    assert torch.equal(out, torch.zeros(7, 2))


@pytest.mark.parametrize("mode", ["reference", "per_dim"])
def test_a_single_utterance_is_defined_and_warned(mode: str) -> None:
    with pytest.warns(DegenerateVAWarning, match="one utterance"):
        out = normalize_va(torch.tensor([[0.4, 0.9]]), mode)
    assert torch.isfinite(out).all()
    assert out[0, 0] == 0.0


@pytest.mark.parametrize("mode", ["reference", "per_dim", "none"])
def test_ordinary_scores_do_not_warn(mode: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        normalize_va(torch.randn(10, 2), mode)


def test_scores_equal_up_to_rounding_have_no_spread_and_are_not_blown_up() -> None:
    """Valences one float32 step apart had a std of about 1e-7: dividing by it turned the
    arousals into millions, silently leaving no VA positives."""
    values = torch.tensor([[5.0, 3.0], [5.0, 3.0], [5.0, 3.05], [5.0, 7.0]])
    values[0, 0] = torch.nextafter(torch.tensor(5.0), torch.tensor(6.0))
    with pytest.warns(DegenerateVAWarning, match="every valence is 5 .*no spread"):
        scaled = normalize_va(values, "reference")
    assert scaled.abs().max() < 2.5
    assert torch.allclose(scaled[:, 1], torch.tensor([-2.0, -2.0, -1.95, 2.0]))
