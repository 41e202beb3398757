//! Performance comparison of the old and new systems (DESIGN §3.7) and the executive summary's
//! `performance_delta` (DESIGN §3.1).
//!
//! The rules, so a user can tell why the dashboard says what it says:
//!
//! - Each side's figures are computed from its timing samples in milliseconds: p50, p95 and p99
//!   by *nearest rank* (the ⌈p/100·n⌉-th smallest value, always one of the samples), min, max,
//!   mean and the *sample* standard deviation (divided by n − 1; 0 for a single sample).
//! - `delta_percent` is (new p50 − old p50) / old p50 × 100: negative means the new system is
//!   faster. It is undefined (`null`) when either side is missing or the old p50 is 0.
//! - `regression`: the new p50 is slower than the old one by more than the threshold (default
//!   10 %) and, when both sides have at least [`MIN_SAMPLES_FOR_TEST`] samples, a two-sided
//!   Mann-Whitney U test says the difference is significant (p < [`SIGNIFICANCE`]). With fewer
//!   samples on either side the threshold alone decides. `improved` is the mirror image.
//! - The Mann-Whitney U test is computed as `scipy.stats.mannwhitneyu(x, y,
//!   alternative="two-sided", method="auto")` does (scipy 1.17): the exact distribution of U when
//!   there are no ties and at least one side has at most 8 samples, otherwise the normal
//!   approximation with the tie correction and the continuity correction. The test suite checks
//!   the values against ones computed by scipy.
//!
//! Values that are not finite (NaN, ±∞) are left out of every figure; the parsers refuse them,
//! so this only keeps the arithmetic defined.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::operation::System;

/// The regression threshold used when the plan does not set one, in percent.
pub const DEFAULT_REGRESSION_PERCENT: f64 = 10.0;
/// Samples each side needs before the Mann-Whitney U test takes part in the decision.
pub const MIN_SAMPLES_FOR_TEST: usize = 5;
/// The test's significance level: a difference counts when p is below it.
pub const SIGNIFICANCE: f64 = 0.05;
/// scipy's `method="auto"` uses the exact distribution when one side has at most this many
/// samples (and there are no ties).
const EXACT_MAX_SMALLER_SIDE: usize = 8;

/// Timing samples of one operation on one system (DESIGN §2 "Benchmark"): what the benchmark
/// parsers and `POST /api/v1/benchmarks` produce.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BenchmarkSamples {
    /// The operation measured (a hyperfine command, a Criterion benchmark id, a CSV name).
    pub operation: String,
    /// Which system it ran on.
    pub system: System,
    /// The component it belongs to, if known.
    #[serde(default)]
    pub component: Option<String>,
    /// One value per run, in milliseconds.
    pub values_ms: Vec<f64>,
}

/// The figures of one side of a comparison (the specification's `PerformanceMetric`), in
/// milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PerformanceMetric {
    /// Median, nearest rank.
    pub p50: f64,
    /// 95th percentile, nearest rank.
    pub p95: f64,
    /// 99th percentile, nearest rank.
    pub p99: f64,
    /// Fastest run.
    pub min: f64,
    /// Slowest run.
    pub max: f64,
    /// Arithmetic mean.
    pub mean: f64,
    /// Sample standard deviation (n − 1); 0 for one sample.
    pub std_dev: f64,
}

/// The change of every statistic from old to new, in percent of the old value; `None` where
/// the old value is 0.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeltaPercents {
    /// Change of the median.
    pub p50: Option<f64>,
    /// Change of the 95th percentile.
    pub p95: Option<f64>,
    /// Change of the 99th percentile.
    pub p99: Option<f64>,
    /// Change of the mean.
    pub mean: Option<f64>,
    /// Change of the standard deviation.
    pub std_dev: Option<f64>,
    /// Change of the fastest run.
    pub min: Option<f64>,
    /// Change of the slowest run.
    pub max: Option<f64>,
}

/// One operation (and component) compared between the systems: the specification's
/// `PerformanceComparison`, with the fields this product adds beside them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PerformanceComparison {
    /// The operation.
    pub operation: String,
    /// The component, when the samples named one.
    pub component: Option<String>,
    /// Figures of the old system, if it has samples.
    pub old_system: Option<PerformanceMetric>,
    /// Figures of the new system, if it has samples.
    pub new_system: Option<PerformanceMetric>,
    /// (new p50 − old p50) / old p50 × 100; negative means faster.
    pub delta_percent: Option<f64>,
    /// The same change for every statistic; `None` unless both sides have samples.
    pub deltas: Option<DeltaPercents>,
    /// The new system is slower by more than the threshold, significantly where tested.
    pub regression: bool,
    /// The new system is faster by more than the threshold, significantly where tested.
    pub improved: bool,
    /// Samples of both systems together.
    pub sample_size: usize,
    /// Samples of the old system.
    pub old_samples: usize,
    /// Samples of the new system.
    pub new_samples: usize,
    /// Two-sided Mann-Whitney U p-value; `None` unless both sides have samples.
    pub p_value: Option<f64>,
    /// Whether the test took part in the decision (both sides had at least
    /// [`MIN_SAMPLES_FOR_TEST`] samples).
    pub significance_tested: bool,
}

/// How a Mann-Whitney p-value was computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum TestMethod {
    /// From the exact distribution of U (no ties, one side of at most 8 samples).
    Exact,
    /// From the normal approximation with tie and continuity corrections.
    Asymptotic,
}

/// The outcome of a two-sided Mann-Whitney U test.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MannWhitney {
    /// U of the first sample (scipy's `statistic`).
    pub u: f64,
    /// Two-sided p-value, in [0, 1].
    pub p_value: f64,
    /// How `p_value` was computed.
    pub method: TestMethod,
}

/// The figures of a set of timings; `None` when it has no finite value.
pub fn metric(values: &[f64]) -> Option<PerformanceMetric> {
    let mut v = finite(values);
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let (min, max) = (v[0], v[n - 1]);
    // Rounding can push the mean of equal values a hair past them: keep it between the
    // extremes, where it belongs.
    let mean = (v.iter().sum::<f64>() / n as f64).clamp(min, max);
    let std_dev = if n < 2 {
        0.0
    } else {
        (v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1) as f64).sqrt()
    };
    Some(PerformanceMetric {
        p50: nearest_rank(&v, 50),
        p95: nearest_rank(&v, 95),
        p99: nearest_rank(&v, 99),
        min,
        max,
        mean,
        std_dev,
    })
}

/// The ⌈p/100·n⌉-th smallest of sorted, non-empty values (integer arithmetic, so no rounding
/// moves a rank).
fn nearest_rank(sorted: &[f64], percent: usize) -> f64 {
    let rank = (percent * sorted.len()).div_ceil(100).max(1);
    sorted[rank - 1]
}

fn finite(values: &[f64]) -> Vec<f64> {
    values.iter().copied().filter(|x| x.is_finite()).collect()
}

/// Change from `old` to `new` in percent of `old`; `None` when `old` is 0 (or not positive).
fn delta(old: f64, new: f64) -> Option<f64> {
    (old > 0.0).then(|| (new - old) / old * 100.0)
}

/// Compares the systems per operation and component: samples of the same operation, component
/// and system are pooled. The result is sorted by operation, then component (none first).
/// `regression_percent` is the threshold of the rule (the plan's `regression_percent`,
/// [`DEFAULT_REGRESSION_PERCENT`] by default).
pub fn compare(
    samples: &[BenchmarkSamples],
    regression_percent: f64,
) -> Vec<PerformanceComparison> {
    type Key<'a> = (&'a str, Option<&'a str>);
    let mut groups: BTreeMap<Key<'_>, (Vec<f64>, Vec<f64>)> = BTreeMap::new();
    for s in samples {
        let (old, new) = groups
            .entry((s.operation.as_str(), s.component.as_deref()))
            .or_default();
        let side = match s.system {
            System::Old => old,
            System::New => new,
        };
        side.extend(s.values_ms.iter().copied().filter(|x| x.is_finite()));
    }
    groups
        .into_iter()
        .map(|((operation, component), (old, new))| {
            compare_one(operation, component, &old, &new, regression_percent)
        })
        .collect()
}

fn compare_one(
    operation: &str,
    component: Option<&str>,
    old: &[f64],
    new: &[f64],
    regression_percent: f64,
) -> PerformanceComparison {
    let old_system = metric(old);
    let new_system = metric(new);
    let deltas = match (&old_system, &new_system) {
        (Some(o), Some(n)) => Some(DeltaPercents {
            p50: delta(o.p50, n.p50),
            p95: delta(o.p95, n.p95),
            p99: delta(o.p99, n.p99),
            mean: delta(o.mean, n.mean),
            std_dev: delta(o.std_dev, n.std_dev),
            min: delta(o.min, n.min),
            max: delta(o.max, n.max),
        }),
        _ => None,
    };
    let delta_percent = deltas.and_then(|d| d.p50);
    let p_value = mann_whitney_u(old, new).map(|t| t.p_value);
    let significance_tested =
        old.len() >= MIN_SAMPLES_FOR_TEST && new.len() >= MIN_SAMPLES_FOR_TEST;
    let significant = !significance_tested || p_value.is_some_and(|p| p < SIGNIFICANCE);
    let regression = significant && delta_percent.is_some_and(|d| d > regression_percent);
    let improved = significant && delta_percent.is_some_and(|d| d < -regression_percent);
    PerformanceComparison {
        operation: operation.to_owned(),
        component: component.map(str::to_owned),
        old_system,
        new_system,
        delta_percent,
        deltas,
        regression,
        improved,
        sample_size: old.len() + new.len(),
        old_samples: old.len(),
        new_samples: new.len(),
        p_value,
        significance_tested,
    }
}

/// The performance headline (DESIGN §3.1): what regressed, what improved and what shows no
/// clear change, so a median never hides a regression.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PerformanceVerdict {
    /// The operations whose new system is slower (`regression`), worst first.
    pub slower: Vec<VerdictItem>,
    /// The operations whose new system is faster (`improved`), best first.
    pub faster: Vec<VerdictItem>,
    /// Operations compared with no clear change (or one side missing).
    pub unclear: usize,
    /// The headline in words: "1 operation slower (feature generation +35.0 %), 2 faster,
    /// 1 no clear change"; "no benchmarks" when there are none.
    pub headline: String,
    /// The rule, with its inputs.
    pub explain: String,
}

/// One operation of a verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VerdictItem {
    /// The operation, with its component when another operation has the same name.
    pub operation: String,
    /// The change of its p50 in percent.
    pub delta_percent: f64,
}

/// The name of a comparison as people read it: "feature generation" or "query (storage)".
fn comparison_name(c: &PerformanceComparison, all: &[PerformanceComparison]) -> String {
    let same_name = all.iter().filter(|o| o.operation == c.operation).count() > 1;
    match (&c.component, same_name) {
        (Some(comp), true) => format!("{} ({comp})", c.operation),
        _ => c.operation.clone(),
    }
}

/// The headline over the comparisons (see [`PerformanceVerdict`]).
pub fn verdict(
    comparisons: &[PerformanceComparison],
    regression_percent: f64,
) -> PerformanceVerdict {
    let item = |c: &PerformanceComparison| VerdictItem {
        operation: comparison_name(c, comparisons),
        delta_percent: c.delta_percent.unwrap_or(0.0),
    };
    let mut slower: Vec<VerdictItem> = comparisons
        .iter()
        .filter(|c| c.regression)
        .map(item)
        .collect();
    slower.sort_by(|a, b| {
        b.delta_percent
            .total_cmp(&a.delta_percent)
            .then(a.operation.cmp(&b.operation))
    });
    let mut faster: Vec<VerdictItem> = comparisons
        .iter()
        .filter(|c| c.improved)
        .map(item)
        .collect();
    faster.sort_by(|a, b| {
        a.delta_percent
            .total_cmp(&b.delta_percent)
            .then(a.operation.cmp(&b.operation))
    });
    let unclear = comparisons.len() - slower.len() - faster.len();
    let ops = |n: usize| if n == 1 { "operation" } else { "operations" };
    let headline = if comparisons.is_empty() {
        "no benchmarks".to_owned()
    } else {
        let mut parts = Vec::new();
        if !slower.is_empty() {
            let worst: Vec<String> = slower
                .iter()
                .take(2)
                .map(|v| format!("{} {:+.1} %", v.operation, v.delta_percent))
                .collect();
            let more = if slower.len() > 2 { ", …" } else { "" };
            parts.push(format!(
                "{} {} slower ({}{more})",
                slower.len(),
                ops(slower.len()),
                worst.join(", ")
            ));
        }
        if !faster.is_empty() {
            let n = faster.len();
            parts.push(if parts.is_empty() {
                format!("{n} {} faster", ops(n))
            } else {
                format!("{n} faster")
            });
        }
        if unclear > 0 {
            parts.push(if parts.is_empty() {
                format!("{unclear} {} with no clear change", ops(unclear))
            } else {
                format!("{unclear} no clear change")
            });
        }
        parts.join(", ")
    };
    let explain = if comparisons.is_empty() {
        "No operation is benchmarked on both systems yet (`mhd ingest bench FILE --system old|new`)."
            .to_owned()
    } else {
        format!(
            "Each of the {} operation{} benchmarked on both systems is slower when the new p50 is \
         more than {} % above the old one and, with at least {MIN_SAMPLES_FOR_TEST} samples a \
         side, a Mann-Whitney U test gives p < {SIGNIFICANCE}; faster the same way below; \
         otherwise no clear change.",
            comparisons.len(),
            if comparisons.len() == 1 { "" } else { "s" },
            crate::format::number(regression_percent),
        )
    };
    PerformanceVerdict {
        slower,
        faster,
        unclear,
        headline,
        explain,
    }
}

/// The executive summary's `performance_delta`: the median, over the comparisons that have both
/// sides and a defined `delta_percent`, of that delta (the mean of the middle two for an even
/// count). Negative means the new system is faster; `None` when nothing can be compared.
pub fn performance_delta(comparisons: &[PerformanceComparison]) -> Option<f64> {
    let mut d: Vec<f64> = comparisons
        .iter()
        .filter_map(|c| c.delta_percent)
        .filter(|x| x.is_finite())
        .collect();
    if d.is_empty() {
        return None;
    }
    d.sort_by(f64::total_cmp);
    let mid = d.len() / 2;
    Some(if d.len() % 2 == 1 {
        d[mid]
    } else {
        (d[mid - 1] + d[mid]) / 2.0
    })
}

/// Two-sided Mann-Whitney U test of `x` against `y`, as scipy's
/// `mannwhitneyu(x, y, alternative="two-sided", method="auto")` computes it: exact when there
/// are no ties and one side has at most 8 values, otherwise the normal approximation with tie
/// and continuity corrections. Non-finite values are left out; `None` when a side is empty.
///
/// One deviation: should the exact distribution's counts not fit in 128 bits (more than about
/// 200,000 values against 8), the normal approximation is used instead.
pub fn mann_whitney_u(x: &[f64], y: &[f64]) -> Option<MannWhitney> {
    let (x, y) = (finite(x), finite(y));
    let (n1, n2) = (x.len(), y.len());
    if n1 == 0 || n2 == 0 {
        return None;
    }
    let ranks = rank(&x, &y);
    let (n1f, n2f) = (n1 as f64, n2 as f64);
    let u1 = ranks.rank_sum_x - n1f * (n1f + 1.0) / 2.0;
    let u2 = n1f * n2f - u1;
    let u = u1.max(u2);

    if !ranks.has_ties && n1.min(n2) <= EXACT_MAX_SMALLER_SIDE {
        // Without ties every rank is a whole number, so U is too.
        let u_int = u.round() as usize;
        if let Some(lower_tail) = exact_cdf(n1, n2, n1 * n2 - u_int) {
            return Some(MannWhitney {
                u: u1,
                p_value: (2.0 * lower_tail).clamp(0.0, 1.0),
                method: TestMethod::Exact,
            });
        }
    }

    let mu = n1f * n2f / 2.0;
    let n = n1f + n2f;
    let s = (n1f * n2f / 12.0 * ((n + 1.0) - ranks.tie_term / (n * (n - 1.0))))
        .max(0.0)
        .sqrt();
    // Continuity correction: U is the larger statistic, so subtracting ½ moves it toward the
    // centre. With every value tied s is 0 and z is −∞: p = 1.
    let z = (u - mu - 0.5) / s;
    let p = 2.0 * normal_sf(z);
    Some(MannWhitney {
        u: u1,
        p_value: if p.is_nan() { 1.0 } else { p.clamp(0.0, 1.0) },
        method: TestMethod::Asymptotic,
    })
}

/// What the test needs from the joint ranking of two samples.
struct Ranking {
    /// Sum of the (average) ranks of the first sample's values.
    rank_sum_x: f64,
    /// Σ (t³ − t) over groups of t tied values.
    tie_term: f64,
    /// Whether any value occurs more than once.
    has_ties: bool,
}

/// Ranks both samples together, 1-based, tied values sharing the average of their ranks.
fn rank(x: &[f64], y: &[f64]) -> Ranking {
    let mut all: Vec<(f64, bool)> = x
        .iter()
        .map(|&v| (v, true))
        .chain(y.iter().map(|&v| (v, false)))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut out = Ranking {
        rank_sum_x: 0.0,
        tie_term: 0.0,
        has_ties: false,
    };
    let mut start = 0;
    while start < all.len() {
        let mut end = start + 1;
        while end < all.len() && all[end].0.partial_cmp(&all[start].0) == Some(Ordering::Equal) {
            end += 1;
        }
        // Ranks start+1 ..= end; their average.
        let avg = (start + 1 + end) as f64 / 2.0;
        let from_x = all[start..end].iter().filter(|(_, is_x)| *is_x).count();
        out.rank_sum_x += avg * from_x as f64;
        let t = (end - start) as f64;
        if end - start > 1 {
            out.has_ties = true;
            out.tie_term += t * t * t - t;
        }
        start = end;
    }
    out
}

/// P(U ≤ k) under the null hypothesis for samples of sizes `n1` and `n2` without ties, or
/// `None` when the number of arrangements does not fit in 128 bits.
///
/// The number of arrangements with U = u is the coefficient of qᵘ in the Gaussian binomial
/// [n1+n2 choose m]_q = ∏_{i=1..m} (1 − q^{n+i}) / (1 − q^i), with m the smaller size and n the
/// larger. Multiplying by (1 − q^a) and dividing by (1 − q^i) only move mass to higher
/// powers, so the coefficients up to qᵏ are computed exactly from coefficients up to qᵏ alone:
/// O(m·k) integer operations.
fn exact_cdf(n1: usize, n2: usize, k: usize) -> Option<f64> {
    let (m, n) = (n1.min(n2), n1.max(n2));
    let total = binomial(m + n, m)?;
    // Intermediate coefficients can reach twice the total in magnitude: keep headroom.
    if total > i128::MAX / 4 {
        return None;
    }
    let k = k.min(m * n);
    let mut c = vec![0i128; k + 1];
    c[0] = 1;
    for i in 1..=m {
        let a = n + i;
        // × (1 − qᵃ): from the top down, so each c[d − a] read is still the old value.
        for d in (a..=k).rev() {
            c[d] -= c[d - a];
        }
        // ÷ (1 − qⁱ) = × (1 + qⁱ + q²ⁱ + …): from the bottom up, reusing the new values.
        for d in i..=k {
            c[d] += c[d - i];
        }
    }
    let count: i128 = c.iter().sum();
    Some(count as f64 / total as f64)
}

/// C(n, k) in 128 bits, or `None` on overflow.
fn binomial(n: usize, k: usize) -> Option<i128> {
    let k = k.min(n - k);
    let mut r: i128 = 1;
    for i in 0..k {
        // r · (n − i) / (i + 1) is C(n, i + 1): always a whole number.
        r = r.checked_mul((n - i) as i128)? / (i as i128 + 1);
    }
    Some(r)
}

/// Survival function of the standard normal distribution, P(Z > z).
pub fn normal_sf(z: f64) -> f64 {
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

/// The complementary error function, to about 1e-14 relative accuracy over the whole range
/// where it does not underflow (checked against scipy in the tests).
pub fn erfc(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x < 0.0 {
        return 2.0 - erfc(-x);
    }
    if x < 2.0 {
        1.0 - erf_series(x)
    } else if x > 27.3 {
        // e^(−x²) underflows: so does erfc.
        0.0
    } else {
        erfc_continued_fraction(x)
    }
}

/// erf(x) = 2/√π · e^(−x²) · Σₖ 2ᵏ x^(2k+1) / (1·3·…·(2k+1)): every term positive, so no
/// cancellation; used for 0 ≤ x < 2.
fn erf_series(x: f64) -> f64 {
    let x2 = x * x;
    let mut term = x;
    let mut sum = x;
    let mut k = 0.0;
    while term > sum * 1e-17 {
        k += 1.0;
        term *= 2.0 * x2 / (2.0 * k + 1.0);
        sum += term;
    }
    2.0 / std::f64::consts::PI.sqrt() * (-x2).exp() * sum
}

/// erfc(x) = e^(−x²)/√π · 1 / (x + (1/2) / (x + (2/2) / (x + (3/2) / (x + …)))), evaluated by
/// the modified Lentz method; used for x ≥ 2, where it converges quickly.
fn erfc_continued_fraction(x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let mut f = x;
    let mut c = x;
    let mut d = 0.0;
    for k in 1..2000 {
        let a = k as f64 / 2.0;
        d = x + a * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = x + a / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        let step = c * d;
        f *= step;
        if (step - 1.0).abs() < 1e-16 {
            break;
        }
    }
    (-x * x).exp() / (std::f64::consts::PI.sqrt() * f)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples(op: &str, system: System, values: &[f64]) -> BenchmarkSamples {
        BenchmarkSamples {
            operation: op.to_owned(),
            system,
            component: None,
            values_ms: values.to_vec(),
        }
    }

    fn close(a: f64, b: f64, rel: f64) -> bool {
        a == b || (a - b).abs() <= rel * a.abs().max(b.abs())
    }

    #[test]
    fn metric_edge_cases() {
        struct Case {
            name: &'static str,
            values: &'static [f64],
            want: Option<[f64; 7]>, // p50 p95 p99 min max mean std
        }
        let cases = [
            Case {
                name: "empty",
                values: &[],
                want: None,
            },
            Case {
                name: "only NaN",
                values: &[f64::NAN, f64::INFINITY],
                want: None,
            },
            Case {
                name: "one sample: std 0",
                values: &[4.0],
                want: Some([4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 0.0]),
            },
            Case {
                name: "all equal: std 0, mean exact",
                values: &[0.1, 0.1, 0.1],
                want: Some([0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.0]),
            },
            Case {
                name: "two samples: median is the lower (nearest rank)",
                values: &[2.0, 1.0],
                want: Some([
                    1.0,
                    2.0,
                    2.0,
                    1.0,
                    2.0,
                    1.5,
                    std::f64::consts::FRAC_1_SQRT_2,
                ]),
            },
            Case {
                name: "1..=10: p50 = 5th, p95 = p99 = 10th",
                values: &[10.0, 9.0, 8.0, 7.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0],
                want: Some([5.0, 10.0, 10.0, 1.0, 10.0, 5.5, 3.0276503540974917]),
            },
            Case {
                name: "NaN left out",
                values: &[1.0, f64::NAN, 3.0],
                want: Some([1.0, 3.0, 3.0, 1.0, 3.0, 2.0, std::f64::consts::SQRT_2]),
            },
        ];
        for c in cases {
            let got =
                metric(c.values).map(|m| [m.p50, m.p95, m.p99, m.min, m.max, m.mean, m.std_dev]);
            match (got, c.want) {
                (None, None) => {}
                (Some(g), Some(w)) => {
                    for (i, (g, w)) in g.iter().zip(w).enumerate() {
                        assert!(
                            close(*g, w, 1e-12),
                            "{}: field {i}: got {g}, want {w}",
                            c.name
                        );
                    }
                }
                (g, w) => panic!("{}: got {g:?}, want {w:?}", c.name),
            }
        }
    }

    #[test]
    fn nearest_rank_of_100_values_is_the_kth() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        let m = metric(&v).unwrap();
        assert_eq!((m.p50, m.p95, m.p99), (50.0, 95.0, 99.0));
        let v: Vec<f64> = (1..=101).map(f64::from).collect();
        let m = metric(&v).unwrap();
        // ⌈50.5⌉ = 51, ⌈95.95⌉ = 96, ⌈99.99⌉ = 100.
        assert_eq!((m.p50, m.p95, m.p99), (51.0, 96.0, 100.0));
    }

    #[test]
    fn mann_whitney_known_values() {
        // The case statrs 0.19.1 gets wrong (DEPENDENCIES.md): 2/70 arrangements are as extreme.
        let t = mann_whitney_u(&[1.0, 2.0, 3.0, 4.0], &[5.0, 6.0, 7.0, 8.0]).unwrap();
        assert_eq!(t.method, TestMethod::Exact);
        assert_eq!(t.u, 0.0);
        assert!(close(t.p_value, 2.0 / 70.0, 1e-15), "{}", t.p_value);
        let t = mann_whitney_u(&[5.0, 6.0, 7.0, 8.0], &[1.0, 2.0, 3.0, 4.0]).unwrap();
        assert_eq!(t.u, 16.0);
        assert!(close(t.p_value, 2.0 / 70.0, 1e-15));
        // All values tied: no evidence at all.
        let t = mann_whitney_u(&[3.0; 6], &[3.0; 7]).unwrap();
        assert_eq!((t.method, t.p_value), (TestMethod::Asymptotic, 1.0));
        // One against one: p = 1.
        assert_eq!(mann_whitney_u(&[1.0], &[2.0]).unwrap().p_value, 1.0);
        assert!(mann_whitney_u(&[], &[1.0]).is_none());
        assert!(mann_whitney_u(&[f64::NAN], &[1.0]).is_none());
    }

    #[test]
    fn exact_counts_sum_to_the_binomial() {
        for (m, n) in [(1, 1), (3, 5), (8, 8), (8, 40), (2, 1000)] {
            let all = exact_cdf(m, n, m * n).unwrap();
            assert!(close(all, 1.0, 1e-15), "{m}x{n}: {all}");
        }
        // 3 vs 3: U ≤ 1 in 2 of 20 arrangements.
        assert!(close(exact_cdf(3, 3, 1).unwrap(), 0.1, 1e-15));
        assert_eq!(binomial(10, 3), Some(120));
        assert_eq!(binomial(300, 150), None);
    }

    #[test]
    fn erfc_reference_values() {
        // erfc(0) = 1, erfc(1) and erfc(3) to 16 digits, erfc(-1) = 2 - erfc(1).
        assert_eq!(erfc(0.0), 1.0);
        assert!(close(erfc(1.0), 0.157_299_207_050_285_13, 1e-14));
        assert!(close(erfc(3.0), 2.209_049_699_858_544e-5, 1e-13));
        assert!(close(erfc(-1.0), 1.842_700_792_949_715, 1e-15));
        assert_eq!(normal_sf(f64::NEG_INFINITY), 1.0);
        assert_eq!(normal_sf(f64::INFINITY), 0.0);
    }

    #[test]
    fn comparison_edge_cases() {
        let c = compare(
            &[
                samples("only_old", System::Old, &[1.0, 2.0]),
                samples("only_new", System::New, &[1.0]),
                samples("zero_old", System::Old, &[0.0, 0.0, 0.0]),
                samples("zero_old", System::New, &[1.0, 1.0, 1.0]),
            ],
            10.0,
        );
        let names: Vec<&str> = c.iter().map(|c| c.operation.as_str()).collect();
        assert_eq!(names, ["only_new", "only_old", "zero_old"]);

        let only_new = &c[0];
        assert!(only_new.old_system.is_none() && only_new.new_system.is_some());
        assert_eq!(
            (only_new.delta_percent, only_new.deltas, only_new.p_value),
            (None, None, None)
        );
        assert_eq!(
            (
                only_new.sample_size,
                only_new.old_samples,
                only_new.new_samples
            ),
            (1, 0, 1)
        );
        assert!(!only_new.regression && !only_new.improved);

        let only_old = &c[1];
        assert!(only_old.new_system.is_none());
        assert_eq!(only_old.sample_size, 2);
        assert!(!only_old.regression);

        let zero = &c[2];
        assert_eq!(zero.delta_percent, None, "old p50 = 0: no delta");
        assert_eq!(zero.deltas.unwrap().p50, None);
        assert!(!zero.regression, "an undefined delta is not a regression");
        assert!(zero.p_value.is_some());
        assert_eq!(performance_delta(&c), None);
    }

    #[test]
    fn regression_rule() {
        struct Case {
            name: &'static str,
            old: Vec<f64>,
            new: Vec<f64>,
            threshold: f64,
            regression: bool,
            improved: bool,
            tested: bool,
        }
        let ramp =
            |base: f64, n: usize| -> Vec<f64> { (0..n).map(|i| base + i as f64 * 0.1).collect() };
        let cases = [
            Case {
                name: "few samples: 20 % slower is a regression by the threshold alone",
                old: vec![10.0, 10.0],
                new: vec![12.0, 12.0],
                threshold: 10.0,
                regression: true,
                improved: false,
                tested: false,
            },
            Case {
                name: "few samples: exactly at the threshold is not more than it",
                old: vec![10.0],
                new: vec![11.0],
                threshold: 10.0,
                regression: false,
                improved: false,
                tested: false,
            },
            Case {
                name: "enough samples, clearly slower: regression",
                old: ramp(10.0, 10),
                new: ramp(20.0, 10),
                threshold: 10.0,
                regression: true,
                improved: false,
                tested: true,
            },
            Case {
                name: "enough samples, clearly faster: improved",
                old: ramp(20.0, 10),
                new: ramp(10.0, 10),
                threshold: 10.0,
                regression: false,
                improved: true,
                tested: true,
            },
            Case {
                name: "p50 20 % slower but the samples overlap: not significant",
                old: vec![1.0, 10.0, 10.0, 30.0, 30.0],
                new: vec![1.0, 12.0, 12.0, 30.0, 30.0],
                threshold: 10.0,
                regression: false,
                improved: false,
                tested: true,
            },
            Case {
                name: "significant but under a higher threshold",
                old: ramp(10.0, 10),
                new: ramp(11.5, 10),
                threshold: 50.0,
                regression: false,
                improved: false,
                tested: true,
            },
        ];
        for c in cases {
            let got = compare(
                &[
                    samples("op", System::Old, &c.old),
                    samples("op", System::New, &c.new),
                ],
                c.threshold,
            );
            let got = &got[0];
            assert_eq!(
                (got.regression, got.improved, got.significance_tested),
                (c.regression, c.improved, c.tested),
                "{}: {got:?}",
                c.name
            );
        }
    }

    #[test]
    fn the_verdict_names_regressions_and_never_says_faster_beside_one() {
        let ten = |base: f64| -> Vec<f64> { (0..10).map(|i| base + f64::from(i)).collect() };
        let all = [
            samples("load", System::Old, &ten(100.0)),
            samples("load", System::New, &ten(200.0)),
            samples("query", System::Old, &ten(100.0)),
            samples("query", System::New, &ten(50.0)),
            samples("scan", System::Old, &ten(100.0)),
            samples("scan", System::New, &ten(101.0)),
        ];
        let c = compare(&all, DEFAULT_REGRESSION_PERCENT);
        let v = verdict(&c, DEFAULT_REGRESSION_PERCENT);
        assert_eq!(v.slower.len(), 1);
        assert_eq!(v.slower[0].operation, "load");
        assert_eq!(v.faster.len(), 1);
        assert_eq!(v.unclear, 1);
        assert!(
            v.headline.starts_with("1 operation slower (load +9"),
            "{}",
            v.headline
        );
        assert!(
            v.headline.ends_with("1 faster, 1 no clear change"),
            "{}",
            v.headline
        );
        // The median alone would call the new system faster: the headline does not.
        assert!(performance_delta(&c).is_some_and(|d| d < 1.0));
        assert!(
            v.explain.starts_with("Each of the 3 operations"),
            "{}",
            v.explain
        );
        let none = verdict(&[], DEFAULT_REGRESSION_PERCENT);
        assert_eq!(none.headline, "no benchmarks");
        assert!(none.explain.contains("mhd ingest bench"));
    }

    #[test]
    fn samples_are_pooled_per_operation_component_and_system() {
        let mut a = samples("read", System::Old, &[1.0, 2.0]);
        a.component = Some("storage".into());
        let mut b = samples("read", System::Old, &[3.0]);
        b.component = Some("storage".into());
        let c = samples("read", System::Old, &[100.0]);
        let out = compare(&[a, b, c], DEFAULT_REGRESSION_PERCENT);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].component, None);
        assert_eq!(out[0].old_samples, 1);
        assert_eq!(out[1].component.as_deref(), Some("storage"));
        assert_eq!(out[1].old_samples, 3);
        assert_eq!(out[1].old_system.unwrap().p50, 2.0);
    }

    #[test]
    fn performance_delta_is_the_median_over_operations() {
        let mut s = Vec::new();
        for (op, old, new) in [
            ("a", 10.0, 5.0),
            ("b", 10.0, 12.0),
            ("c", 10.0, 20.0),
            ("d", 10.0, 9.0),
        ] {
            s.push(samples(op, System::Old, &[old]));
            s.push(samples(op, System::New, &[new]));
        }
        s.push(samples("e", System::New, &[1.0])); // one side only: left out
        let c = compare(&s, 10.0);
        // Deltas -50, 20, 100, -10 → sorted -50, -10, 20, 100 → (−10 + 20) / 2.
        assert_eq!(performance_delta(&c), Some(5.0));
        assert_eq!(performance_delta(&c[..3]), Some(20.0));
        assert_eq!(performance_delta(&[]), None);
    }

    #[test]
    fn serialises_with_the_specification_field_names() {
        let c = compare(
            &[
                samples("op", System::Old, &[1.0]),
                samples("op", System::New, &[2.0]),
            ],
            10.0,
        );
        let v = serde_json::to_value(&c[0]).unwrap();
        for key in [
            "operation",
            "old_system",
            "new_system",
            "delta_percent",
            "regression",
            "sample_size",
        ] {
            assert!(v.get(key).is_some(), "missing {key}");
        }
        for key in ["p50", "p95", "p99", "min", "max", "mean", "std_dev"] {
            assert!(
                v["old_system"].get(key).is_some(),
                "missing old_system.{key}"
            );
        }
        assert_eq!(v["delta_percent"], 100.0);
        assert_eq!(v["sample_size"], 2);
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// Durations as they come from benchmarks: milliseconds with a few decimals, so that
        /// distinct values stay distinct when scaled.
        fn durations(max_len: usize) -> impl Strategy<Value = Vec<f64>> {
            prop::collection::vec(
                (0u32..100_000).prop_map(|v| f64::from(v) / 100.0),
                1..max_len,
            )
        }

        proptest! {
            #[test]
            fn percentiles_are_ordered_and_the_mean_within_range(v in durations(300)) {
                let m = metric(&v).unwrap();
                prop_assert!(m.min <= m.p50 && m.p50 <= m.p95 && m.p95 <= m.p99 && m.p99 <= m.max);
                prop_assert!(m.min <= m.mean && m.mean <= m.max);
                prop_assert!(m.std_dev >= 0.0);
                prop_assert!(v.contains(&m.p50) && v.contains(&m.p95) && v.contains(&m.p99));
            }

            #[test]
            fn p_value_is_a_probability_and_symmetric(x in durations(40), y in durations(40)) {
                let a = mann_whitney_u(&x, &y).unwrap();
                let b = mann_whitney_u(&y, &x).unwrap();
                prop_assert!((0.0..=1.0).contains(&a.p_value));
                prop_assert!(close(a.p_value, b.p_value, 1e-12), "{} vs {}", a.p_value, b.p_value);
                prop_assert_eq!(a.u + b.u, (x.len() * y.len()) as f64);
                prop_assert_eq!(a.method, b.method);
            }

            #[test]
            fn scaling_changes_neither_p_nor_delta(
                x in durations(30),
                y in durations(30),
                c in prop::sample::select(vec![0.001, 0.37, 2.0, 3.5, 1000.0]),
            ) {
                let xs: Vec<f64> = x.iter().map(|v| v * c).collect();
                let ys: Vec<f64> = y.iter().map(|v| v * c).collect();
                let p = mann_whitney_u(&x, &y).unwrap().p_value;
                let ps = mann_whitney_u(&xs, &ys).unwrap().p_value;
                prop_assert!(close(p, ps, 1e-12), "{p} vs {ps}");
                let run = |old: &[f64], new: &[f64]| {
                    compare(&[samples("op", System::Old, old), samples("op", System::New, new)], 10.0)
                        .remove(0)
                };
                let (a, b) = (run(&x, &y), run(&xs, &ys));
                match (a.delta_percent, b.delta_percent) {
                    (Some(d), Some(ds)) => prop_assert!((d - ds).abs() <= 1e-9 * d.abs().max(1.0), "{d} vs {ds}"),
                    (d, ds) => prop_assert_eq!(d, ds),
                }
                // Away from the threshold itself, where the last bit of rounding could tip it,
                // the verdict is the same.
                if a.delta_percent.is_some_and(|d| ((d.abs() - 10.0).abs()) > 1e-6) {
                    prop_assert_eq!((a.regression, a.improved), (b.regression, b.improved));
                }
            }
        }
    }
}
