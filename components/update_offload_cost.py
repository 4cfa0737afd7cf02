"""What offloading software-update downloads to CloudFront saves, per month, in origin egress and dollars.

For one release of S GB downloaded N times a month, with a cache hit ratio h:

    delivered        D = S × N                              GB viewers receive
    origin egress    O = D × (1 − h)                        GB the ELB still serves (now only to CloudFront)
    without the CDN    = D × (internet_egress + alb_processing)
    with the CDN       = D × cloudfront_egress + O × alb_processing
    saving             = without − with

Data transfer from an AWS origin (EC2, ELB) to CloudFront is free, so with the CDN
the origin pays only for the bytes its load balancer still processes.
Prices are flat USD per GB (first-tier list prices, US/Europe); pass your own.
Left out on purpose: EC2 hours and ASG scale-out avoided (usually the larger saving, and
specific to the app), per-request fees, Origin Shield request fees, volume tiers.
"""
from dataclasses import dataclass

INTERNET_EGRESS_USD_PER_GB = 0.09     # EC2/ELB data transfer out to the internet, first 10 TB
ALB_PROCESSING_USD_PER_GB = 0.008     # ALB LCU cost of processed bytes (1 LCU = 1 GB/hour for EC2 targets)
CLOUDFRONT_EGRESS_USD_PER_GB = 0.085  # CloudFront data transfer out, US/Europe, first 10 TB


@dataclass(frozen=True)
class OffloadEstimate:
    delivered_gb: float
    """GB viewers download in the month (S × N)."""
    origin_egress_gb: float
    """GB the origin still serves with the CDN in front: only cache misses, D × (1 − h)."""
    offloaded_gb: float
    """GB the origin no longer serves: D × h."""
    cost_without_cdn_usd: float
    """Monthly transfer cost when the ELB serves every download."""
    cost_with_cdn_usd: float
    """Monthly transfer cost with CloudFront in front."""
    saving_usd: float
    """cost_without_cdn_usd − cost_with_cdn_usd (negative if the CDN costs more)."""


def estimate_monthly_offload(release_size_gb: float, downloads_per_month: float, cache_hit_ratio: float, *,
                             internet_egress_usd_per_gb: float = INTERNET_EGRESS_USD_PER_GB,
                             alb_processing_usd_per_gb: float = ALB_PROCESSING_USD_PER_GB,
                             cloudfront_egress_usd_per_gb: float = CLOUDFRONT_EGRESS_USD_PER_GB) -> OffloadEstimate:
    """Monthly origin egress and saving for a release of `release_size_gb` downloaded `downloads_per_month` times.

    `cache_hit_ratio` is the share of bytes CloudFront serves from cache (0..1; the
    distribution's CacheHitRate metric / 100). Raises ValueError naming a bad argument.
    """
    for label, value in (("release_size_gb", release_size_gb), ("downloads_per_month", downloads_per_month),
                         ("internet_egress_usd_per_gb", internet_egress_usd_per_gb),
                         ("alb_processing_usd_per_gb", alb_processing_usd_per_gb),
                         ("cloudfront_egress_usd_per_gb", cloudfront_egress_usd_per_gb)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ValueError(f"{label}: expected a number >= 0, got {value!r}")
    if isinstance(cache_hit_ratio, bool) or not isinstance(cache_hit_ratio, (int, float)) \
            or not 0 <= cache_hit_ratio <= 1:
        raise ValueError(f"cache_hit_ratio: expected a ratio from 0 to 1, got {cache_hit_ratio!r}")

    delivered = release_size_gb * downloads_per_month
    origin = delivered * (1 - cache_hit_ratio)
    without_cdn = delivered * (internet_egress_usd_per_gb + alb_processing_usd_per_gb)
    with_cdn = delivered * cloudfront_egress_usd_per_gb + origin * alb_processing_usd_per_gb
    return OffloadEstimate(delivered_gb=delivered, origin_egress_gb=origin, offloaded_gb=delivered - origin,
                           cost_without_cdn_usd=without_cdn, cost_with_cdn_usd=with_cdn,
                           saving_usd=without_cdn - with_cdn)
