"""The update-offload cost model: its arithmetic, pinned."""
from __future__ import annotations

import pytest

from serverless_blueprints.update_offload_cost import (
    ALB_PROCESSING_USD_PER_GB,
    CLOUDFRONT_EGRESS_USD_PER_GB,
    INTERNET_EGRESS_USD_PER_GB,
    estimate_monthly_offload,
)


def test_delivered_volume_is_release_size_times_downloads():
    assert estimate_monthly_offload(2.0, 100_000, 0.95).delivered_gb == pytest.approx(200_000)


def test_origin_egress_is_only_the_cache_misses():
    estimate = estimate_monthly_offload(2.0, 100_000, 0.95)
    assert estimate.origin_egress_gb == pytest.approx(10_000)
    assert estimate.offloaded_gb == pytest.approx(190_000)


def test_release_of_2_gb_downloaded_100k_times_at_95_percent_hits_saves_2520_usd():
    estimate = estimate_monthly_offload(2.0, 100_000, 0.95)
    assert estimate.cost_without_cdn_usd == pytest.approx(200_000 * (0.09 + 0.008))  # 19,600
    assert estimate.cost_with_cdn_usd == pytest.approx(200_000 * 0.085 + 10_000 * 0.008)  # 17,080
    assert estimate.saving_usd == pytest.approx(2_520)


def test_default_prices_are_the_documented_list_prices():
    assert (INTERNET_EGRESS_USD_PER_GB, ALB_PROCESSING_USD_PER_GB, CLOUDFRONT_EGRESS_USD_PER_GB) == (0.09, 0.008, 0.085)


def test_full_cache_hits_leave_no_origin_egress_and_no_alb_processing():
    estimate = estimate_monthly_offload(1.5, 1_000, 1.0)
    assert estimate.origin_egress_gb == 0
    assert estimate.cost_with_cdn_usd == pytest.approx(1_500 * 0.085)


def test_no_cache_hits_still_saves_the_egress_price_difference():
    estimate = estimate_monthly_offload(1.0, 1_000, 0.0)
    assert estimate.origin_egress_gb == pytest.approx(1_000)
    assert estimate.saving_usd == pytest.approx(1_000 * (0.09 - 0.085))


def test_caller_prices_replace_the_defaults():
    estimate = estimate_monthly_offload(10, 10, 0.5, internet_egress_usd_per_gb=0.12,
                                        alb_processing_usd_per_gb=0.0, cloudfront_egress_usd_per_gb=0.02)
    assert estimate.cost_without_cdn_usd == pytest.approx(12.0)
    assert estimate.cost_with_cdn_usd == pytest.approx(2.0)
    assert estimate.saving_usd == pytest.approx(10.0)


def test_a_cdn_dearer_than_origin_egress_shows_a_negative_saving():
    estimate = estimate_monthly_offload(1, 100, 0.9, cloudfront_egress_usd_per_gb=0.2)
    assert estimate.saving_usd < 0


@pytest.mark.parametrize("ratio", [-0.01, 1.01, True, "0.9"])
def test_cache_hit_ratio_outside_0_to_1_is_rejected(ratio):
    with pytest.raises(ValueError, match="cache_hit_ratio"):
        estimate_monthly_offload(1, 1, ratio)


@pytest.mark.parametrize("argument", ["release_size_gb", "downloads_per_month"])
def test_negative_volume_is_rejected(argument):
    values = {"release_size_gb": 1, "downloads_per_month": 1, argument: -1}
    with pytest.raises(ValueError, match=argument):
        estimate_monthly_offload(values["release_size_gb"], values["downloads_per_month"], 0.5)


def test_negative_price_is_rejected():
    with pytest.raises(ValueError, match="cloudfront_egress_usd_per_gb"):
        estimate_monthly_offload(1, 1, 0.5, cloudfront_egress_usd_per_gb=-0.1)
