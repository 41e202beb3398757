//! `mhd_core::perf` against reference values computed by scipy and numpy
//! (`fixtures/make_scipy_expected.py` writes `fixtures/scipy_expected.json`).

use mhd_core::perf::{self, PerformanceMetric, TestMethod};
use serde::Deserialize;

#[derive(Deserialize)]
struct Expected {
    scipy: String,
    cases: Vec<Case>,
    normal_sf: Vec<SfPoint>,
    erfc: Vec<ErfcPoint>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    x: Vec<f64>,
    y: Vec<f64>,
    u: f64,
    p_value: f64,
    method: TestMethod,
    x_stats: PerformanceMetric,
    y_stats: PerformanceMetric,
}

#[derive(Deserialize)]
struct SfPoint {
    z: f64,
    sf: f64,
}

#[derive(Deserialize)]
struct ErfcPoint {
    x: f64,
    erfc: f64,
}

fn expected() -> Expected {
    let text = include_str!("fixtures/scipy_expected.json");
    serde_json::from_str(text).expect("scipy_expected.json parses")
}

/// Relative difference, with exact equality (including both 0) counting as 0.
fn rel(a: f64, b: f64) -> f64 {
    if a == b {
        0.0
    } else {
        (a - b).abs() / a.abs().max(b.abs())
    }
}

#[test]
fn mann_whitney_matches_scipy() {
    let e = expected();
    assert!(e.cases.len() >= 15, "{} cases", e.cases.len());
    let mut worst = (0.0f64, 0.0f64);
    for c in &e.cases {
        let got = perf::mann_whitney_u(&c.x, &c.y).unwrap();
        assert_eq!(
            got.method, c.method,
            "{}: method (scipy {})",
            c.name, e.scipy
        );
        assert!(
            rel(got.u, c.u) <= 1e-9,
            "{}: U {} vs scipy {}",
            c.name,
            got.u,
            c.u
        );
        assert!(
            rel(got.p_value, c.p_value) <= 1e-6,
            "{}: p {} vs scipy {} (relative difference {:e})",
            c.name,
            got.p_value,
            c.p_value,
            rel(got.p_value, c.p_value)
        );
        worst = (
            worst.0.max(rel(got.u, c.u)),
            worst.1.max(rel(got.p_value, c.p_value)),
        );
        // The test is two-sided: swapping the samples changes U into n1·n2 − U, not p.
        let swapped = perf::mann_whitney_u(&c.y, &c.x).unwrap();
        assert!(
            rel(swapped.p_value, c.p_value) <= 1e-6,
            "{}: swapped",
            c.name
        );
    }
    println!(
        "{} cases against scipy {}: largest relative difference of U {:e}, of p {:e}",
        e.cases.len(),
        e.scipy,
        worst.0,
        worst.1
    );
}

#[test]
fn figures_match_numpy() {
    for c in &expected().cases {
        for (side, values, want) in [("x", &c.x, &c.x_stats), ("y", &c.y, &c.y_stats)] {
            let got = perf::metric(values).unwrap();
            let pairs = [
                ("p50", got.p50, want.p50),
                ("p95", got.p95, want.p95),
                ("p99", got.p99, want.p99),
                ("min", got.min, want.min),
                ("max", got.max, want.max),
                ("mean", got.mean, want.mean),
                ("std_dev", got.std_dev, want.std_dev),
            ];
            for (field, g, w) in pairs {
                // Percentiles, min and max are samples: they must be the very same value.
                let tolerance = if matches!(field, "mean" | "std_dev") {
                    1e-9
                } else {
                    0.0
                };
                assert!(
                    rel(g, w) <= tolerance,
                    "{} {side}.{field}: {g} vs numpy {w}",
                    c.name
                );
            }
        }
    }
}

#[test]
fn normal_tail_and_erfc_match_scipy() {
    let e = expected();
    for p in &e.normal_sf {
        let got = perf::normal_sf(p.z);
        assert!(
            rel(got, p.sf) <= 1e-12,
            "sf({}) = {got} vs scipy {}",
            p.z,
            p.sf
        );
    }
    for p in &e.erfc {
        let got = perf::erfc(p.x);
        assert!(
            rel(got, p.erfc) <= 1e-12,
            "erfc({}) = {got} vs scipy {}",
            p.x,
            p.erfc
        );
    }
}
