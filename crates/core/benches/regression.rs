//! The regression verdict measured (DESIGN §3.7): how often it cries "regression" when old and
//! new are the same (false positives), and how often it sees a real 20 % slowdown (power), beside
//! the two-sample t-test (Welch's) on the very same draws.
//!
//! Timings are drawn log-normally around a median of 100 ms with spread σ of the log-times;
//! "shifted" draws the new system's median 20 % higher. Each cell is 4,000 trials of 30 samples
//! a side. The verdict is `mhd_core::perf::compare`'s `regression` (the p50 more than 10 %
//! slower and a Mann-Whitney U test at p < 0.05); a false positive is any verdict of change
//! (`regression` or `improved`) between identical distributions.
//!
//! Run with `cargo bench -p mhd-core --bench regression` (`MHD_BENCH_TRIALS` changes the
//! trials per cell).

use mhd_core::System;
use mhd_core::perf::{BenchmarkSamples, compare};

/// SplitMix64: repeatable draws.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn unit(&mut self) -> f64 {
        ((self.next() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// A standard normal draw (Box-Muller).
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.unit(), self.unit());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

fn draws(rng: &mut Rng, n: usize, median: f64, sigma: f64) -> Vec<f64> {
    (0..n)
        .map(|_| median * (sigma * rng.normal()).exp())
        .collect()
}

/// The natural log of the gamma function (Lanczos, g = 7, nine coefficients).
fn ln_gamma(x: f64) -> f64 {
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        return (std::f64::consts::PI / (std::f64::consts::PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + 7.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// The regularized incomplete beta function I_x(a, b), by its continued fraction (evaluated
/// with the modified Lentz method) on the side where it converges fast.
fn incomplete_beta(x: f64, a: f64, b: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let front =
        (ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln()).exp();
    if x > (a + 1.0) / (a + b + 2.0) {
        return 1.0 - incomplete_beta(1.0 - x, b, a);
    }
    let tiny = 1e-300;
    let (mut c, mut d) = (1.0, 1.0 - (a + b) * x / (a + 1.0));
    if d.abs() < tiny {
        d = tiny;
    }
    d = 1.0 / d;
    let mut f = d;
    for m in 1..300 {
        let m = f64::from(m);
        let even = m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m));
        for num in [
            even,
            -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0)),
        ] {
            d = 1.0 + num * d;
            if d.abs() < tiny {
                d = tiny;
            }
            c = 1.0 + num / c;
            if c.abs() < tiny {
                c = tiny;
            }
            d = 1.0 / d;
            f *= d * c;
        }
        if (d * c - 1.0).abs() < 1e-12 {
            break;
        }
    }
    front * f / a
}

/// Welch's two-sample t-test, two-sided: the p-value of `y`'s mean differing from `x`'s.
fn welch_p(x: &[f64], y: &[f64]) -> f64 {
    let stats = |v: &[f64]| {
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
        (n, mean, var)
    };
    let ((nx, mx, vx), (ny, my, vy)) = (stats(x), stats(y));
    let se2 = vx / nx + vy / ny;
    let t = (my - mx) / se2.sqrt();
    let df = se2.powi(2) / ((vx / nx).powi(2) / (nx - 1.0) + (vy / ny).powi(2) / (ny - 1.0));
    incomplete_beta(df / (df + t * t), df / 2.0, 0.5)
}

fn main() {
    let trials: u32 = std::env::var("MHD_BENCH_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4000);
    // The t distribution's tail checked against known values: t = 2 with 58 degrees of
    // freedom gives p = 0.0502, t = 1.96 with 1,000,000 gives the normal's 0.0500.
    let p58 = incomplete_beta(58.0 / 62.0, 29.0, 0.5);
    let pinf = incomplete_beta(1e6 / (1e6 + 1.96 * 1.96), 5e5, 0.5);
    assert!((p58 - 0.0502).abs() < 0.0005, "t tail {p58}");
    assert!((pinf - 0.0500).abs() < 0.0005, "normal tail {pinf}");
    let n = 30;
    println!(
        "regression verdict, {trials} trials of {n} samples a side per line (log-normal timings, median 100 ms)"
    );
    println!(
        "  {:>5}  {:>22}  {:>22}  {:>22}",
        "σ", "false positives: mhd", "power at +20 %: mhd", "t-test, same draws"
    );
    let mut rng = Rng(20_261_206);
    let sample = |system, values_ms| BenchmarkSamples {
        operation: "op".into(),
        system,
        component: None,
        values_ms,
    };
    for sigma in [0.1, 0.2, 0.3, 0.5] {
        let (mut fp, mut fp_t) = (0u32, 0u32);
        let (mut hit, mut hit_t) = (0u32, 0u32);
        for _ in 0..trials {
            for shifted in [false, true] {
                let old = draws(&mut rng, n, 100.0, sigma);
                let new = draws(&mut rng, n, if shifted { 120.0 } else { 100.0 }, sigma);
                let t_significant = welch_p(&old, &new) < 0.05;
                let c = &compare(
                    &[sample(System::Old, old), sample(System::New, new)],
                    mhd_core::perf::DEFAULT_REGRESSION_PERCENT,
                )[0];
                if shifted {
                    hit += u32::from(c.regression);
                    hit_t += u32::from(
                        t_significant && c.deltas.is_some_and(|d| d.mean.is_some_and(|m| m > 0.0)),
                    );
                } else {
                    fp += u32::from(c.regression || c.improved);
                    fp_t += u32::from(t_significant);
                }
            }
        }
        let pct = |k: u32| format!("{:.1} %", f64::from(k) * 100.0 / f64::from(trials));
        println!(
            "  {sigma:>5.1}  {:>22}  {:>22}  {:>22}",
            pct(fp),
            pct(hit),
            format!("{} (false: {})", pct(hit_t), pct(fp_t))
        );
    }
    println!(
        "targets: false positives ≤ 5 %; power within 10 points of the t-test, ≥ 80 % where σ ≤ 0.2"
    );
}
