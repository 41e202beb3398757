//! What drawing a chart costs: 90 days at one point a minute (129,600 points, the longest span
//! and finest resolution a chart is asked for) drawn by `mhd_web::charts::line_chart` across
//! the page — downsampled to two points a pixel column, with its read-out and its table —
//! beside a same-run baseline that only writes the same points into a string as text (what any
//! renderer must at least read). 30 runs each after 3 warm-ups; median and slowest, and the
//! chart's size. The target: the chart in at most 20 ms.
//!
//! Run with `cargo bench -p mhd-web --bench charts` on a quiet machine.

use std::fmt::Write as _;
use std::hint::black_box;
use std::time::{Duration, Instant};

use mhd_web::charts::{LineChart, LineStyle, Series, Size, Unit, line_chart};
use time::UtcOffset;

const RUNS: usize = 30;
const START: i64 = 1_735_689_600; // 2025-01-01 00:00 UTC
const POINTS: usize = 90 * 24 * 60;

fn time(mut f: impl FnMut() -> usize) -> (Duration, Duration, usize) {
    let mut size = 0;
    for _ in 0..3 {
        size = black_box(f());
    }
    let mut took: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let t = Instant::now();
            size = black_box(f());
            t.elapsed()
        })
        .collect();
    took.sort_unstable();
    (took[RUNS / 2], took[RUNS - 1], size)
}

fn main() {
    // A CPU-like series: a daily wave, noise, and a few spikes far above the rest.
    let points: Vec<(i64, f64)> = (0..POINTS)
        .map(|i| {
            let day = (i % 1440) as f64 / 1440.0 * std::f64::consts::TAU;
            let noise = ((i * 7919) % 97) as f64 / 10.0;
            let spike = if i % 20_011 == 0 { 400.0 } else { 0.0 };
            (
                START + 60 * i as i64,
                40.0 + 20.0 * day.sin() + noise + spike,
            )
        })
        .collect();
    let series = [Series {
        name: "CPU",
        points: &points,
        style: LineStyle::Area,
        step: false,
    }];
    let chart = LineChart {
        title: "CPU in use",
        unit: Unit::Percent,
        start: START,
        end: START + 60 * POINTS as i64,
        offset: UtcOffset::UTC,
        series: &series,
        top: None,
        max_gap: 300,
        size: Size::Wide,
        empty_text: "No samples",
    };
    let (base_med, base_max, base_size) = time(|| {
        let mut s = String::with_capacity(POINTS * 20);
        for (t, v) in &points {
            let _ = writeln!(s, "{t},{v:.2}");
        }
        s.len()
    });
    let (med, max, size) = time(|| {
        let r = line_chart(black_box(&chart));
        r.svg.len() + r.table.len()
    });
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!("{POINTS} points, {RUNS} runs each");
    println!(
        "baseline: the points written as text   median {:7.2} ms   slowest {:7.2} ms   {:>9} bytes",
        ms(base_med),
        ms(base_max),
        base_size
    );
    println!(
        "line_chart: the chart and its table    median {:7.2} ms   slowest {:7.2} ms   {:>9} bytes",
        ms(med),
        ms(max),
        size
    );
    println!(
        "target: at most 20 ms — {}",
        if ms(med) <= 20.0 { "met" } else { "NOT met" }
    );
}
