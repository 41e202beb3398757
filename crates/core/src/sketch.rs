//! A duration histogram on a logarithmic scale: what the store keeps per hour, component and
//! system so that the component matrix's p95 over a week reads a few thousand rows instead of
//! every operation.
//!
//! Bucket `i` holds durations in [2^(i/4) / 100, 2^((i+1)/4) / 100) milliseconds, 128 buckets
//! from 0.01 ms to about ten hours (shorter ones fall in the first, longer ones in the last).
//! Buckets are 19 % wide, so a percentile read from the histogram — the geometric middle of the
//! bucket holding the nearest-rank value — is within 10 % of the exact one. Histograms add up,
//! so hours merge into a week exactly.

/// Buckets of a histogram.
pub const BUCKETS: usize = 128;

/// Counts of durations per logarithmic bucket (see the module's rules).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Histogram {
    counts: [u32; BUCKETS],
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: [0; BUCKETS],
        }
    }
}

/// The bucket of a duration in milliseconds (non-finite or negative ones: the first).
pub fn bucket(ms: f64) -> usize {
    if !ms.is_finite() || ms <= 0.01 {
        return 0;
    }
    ((ms * 100.0).log2() * 4.0)
        .floor()
        .clamp(0.0, (BUCKETS - 1) as f64) as usize
}

/// The value a bucket stands for: the geometric middle of its bounds, in milliseconds.
pub fn middle(i: usize) -> f64 {
    2f64.powf((i as f64 + 0.5) / 4.0) / 100.0
}

impl Histogram {
    /// Counts one duration.
    pub fn add(&mut self, ms: f64) {
        let b = &mut self.counts[bucket(ms)];
        *b = b.saturating_add(1);
    }

    /// Adds another histogram's counts.
    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(other.counts) {
            *a = a.saturating_add(b);
        }
    }

    /// Durations counted.
    pub fn total(&self) -> u64 {
        self.counts.iter().map(|&c| u64::from(c)).sum()
    }

    /// The `q`-th percentile (0–100) by nearest rank, as its bucket's middle; `None` when
    /// empty.
    pub fn percentile(&self, q: f64) -> Option<f64> {
        let n = self.total();
        if n == 0 {
            return None;
        }
        let rank = ((q / 100.0 * n as f64).ceil() as u64).clamp(1, n);
        let mut seen = 0u64;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += u64::from(c);
            if seen >= rank {
                return Some(middle(i));
            }
        }
        None
    }

    /// The histogram as bytes: (bucket, count as little-endian u32) for each bucket not empty.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (i, &c) in self.counts.iter().enumerate() {
            if c > 0 {
                out.push(i as u8);
                out.extend_from_slice(&c.to_le_bytes());
            }
        }
        out
    }

    /// Reads [`Histogram::encode`]'s bytes; `None` when they are not such bytes.
    pub fn decode(bytes: &[u8]) -> Option<Histogram> {
        if !bytes.len().is_multiple_of(5) {
            return None;
        }
        let mut h = Histogram::default();
        for chunk in bytes.chunks_exact(5) {
            let i = usize::from(chunk[0]);
            let c = u32::from_le_bytes([chunk[1], chunk[2], chunk[3], chunk[4]]);
            let slot = h.counts.get_mut(i)?;
            *slot = slot.saturating_add(c);
        }
        Some(h)
    }
}

/// Buckets of a [`ValueSketch`].
pub const VALUE_BUCKETS: usize = 256;

/// The smallest value a [`ValueSketch`] tells apart from 0: 2^-10, about 0.001.
const VALUE_FLOOR_LOG2: f64 = -10.0;

/// The bucket of a sample's value in a [`ValueSketch`]: 0 for values below 2^-10 (0 and
/// negative values included), else 1 + the [`Histogram`]'s quarter-power-of-two step above
/// 2^-10, the last bucket holding everything from about 1.3e16 up.
pub fn value_bucket(v: f64) -> usize {
    if !v.is_finite() || v < 2f64.powf(VALUE_FLOOR_LOG2) {
        return if v == f64::INFINITY {
            VALUE_BUCKETS - 1
        } else {
            0
        };
    }
    1 + ((v.log2() - VALUE_FLOOR_LOG2) * 4.0)
        .floor()
        .clamp(0.0, (VALUE_BUCKETS - 2) as f64) as usize
}

/// The value a [`ValueSketch`] bucket stands for: 0 for the first, else the geometric middle
/// of its bounds.
pub fn value_middle(i: usize) -> f64 {
    if i == 0 {
        return 0.0;
    }
    2f64.powf((i as f64 - 1.0 + 0.5) / 4.0 + VALUE_FLOOR_LOG2)
}

/// The [`Histogram`]'s logarithmic scale stretched over the values samples take (CPU
/// percentages to bytes per second): what the store keeps of each series per minute and per
/// hour once its raw samples are gone, so that a p95 can still be read.
///
/// Buckets are the same 19 % wide as the [`Histogram`]'s, from 2^-10 (about 0.001) to about
/// 1.3e16, so a percentile read from it — the geometric middle of the bucket holding the
/// nearest-rank value — is within 10 % of the exact one for values in that range; values
/// below 2^-10 (0, and negative values) count as 0. Sketches add up, so minutes merge into
/// hours and hours into months exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueSketch {
    counts: [u32; VALUE_BUCKETS],
}

impl Default for ValueSketch {
    fn default() -> Self {
        ValueSketch {
            counts: [0; VALUE_BUCKETS],
        }
    }
}

impl ValueSketch {
    /// Counts one value.
    pub fn add(&mut self, v: f64) {
        let b = &mut self.counts[value_bucket(v)];
        *b = b.saturating_add(1);
    }

    /// Adds another sketch's counts.
    pub fn merge(&mut self, other: &ValueSketch) {
        for (a, b) in self.counts.iter_mut().zip(other.counts) {
            *a = a.saturating_add(b);
        }
    }

    /// Values counted.
    pub fn total(&self) -> u64 {
        self.counts.iter().map(|&c| u64::from(c)).sum()
    }

    /// The `q`-th percentile (0–100) by nearest rank, as its bucket's middle; `None` when
    /// empty.
    pub fn percentile(&self, q: f64) -> Option<f64> {
        let n = self.total();
        if n == 0 {
            return None;
        }
        let rank = ((q / 100.0 * n as f64).ceil() as u64).clamp(1, n);
        let mut seen = 0u64;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += u64::from(c);
            if seen >= rank {
                return Some(value_middle(i));
            }
        }
        None
    }

    /// The sketch as bytes: (bucket, count as little-endian u32) for each bucket not empty.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (i, &c) in self.counts.iter().enumerate() {
            if c > 0 {
                out.push(i as u8);
                out.extend_from_slice(&c.to_le_bytes());
            }
        }
        out
    }

    /// Reads [`ValueSketch::encode`]'s bytes; `None` when they are not such bytes.
    pub fn decode(bytes: &[u8]) -> Option<ValueSketch> {
        if !bytes.len().is_multiple_of(5) {
            return None;
        }
        let mut h = ValueSketch::default();
        for chunk in bytes.chunks_exact(5) {
            let i = usize::from(chunk[0]);
            let c = u32::from_le_bytes([chunk[1], chunk[2], chunk[3], chunk[4]]);
            let slot = h.counts.get_mut(i)?;
            *slot = slot.saturating_add(c);
        }
        Some(h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn buckets_and_round_trip() {
        assert_eq!(bucket(0.0), 0);
        assert_eq!(bucket(f64::NAN), 0);
        assert_eq!(bucket(1e12), BUCKETS - 1);
        let mut h = Histogram::default();
        for ms in [1.0, 2.0, 3.0, 1000.0] {
            h.add(ms);
        }
        assert_eq!(Histogram::decode(&h.encode()), Some(h.clone()));
        assert_eq!(h.total(), 4);
        assert!(Histogram::decode(&[1, 2]).is_none());
        assert!(Histogram::decode(&[200, 1, 0, 0, 0]).is_none());
    }

    proptest! {
        /// The percentile read from the histogram is within 10 % of the exact nearest rank.
        #[test]
        fn percentiles_are_within_ten_percent(
            values in prop::collection::vec(0.05f64..100_000.0, 1..300),
            q in 1.0f64..100.0,
        ) {
            let mut h = Histogram::default();
            for v in &values {
                h.add(*v);
            }
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            let rank = ((q / 100.0 * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
            let exact = sorted[rank - 1];
            let got = h.percentile(q).unwrap();
            prop_assert!((got / exact - 1.0).abs() <= 0.10, "{got} vs {exact}");
        }

        /// Merging histograms is counting everything in one.
        #[test]
        fn merging_adds_up(a in prop::collection::vec(0.0f64..1e6, 0..50), b in prop::collection::vec(0.0f64..1e6, 0..50)) {
            let (mut ha, mut hb, mut all) = (Histogram::default(), Histogram::default(), Histogram::default());
            for v in &a { ha.add(*v); all.add(*v); }
            for v in &b { hb.add(*v); all.add(*v); }
            ha.merge(&hb);
            prop_assert_eq!(ha, all);
        }
    }

    #[test]
    fn value_buckets_cover_zero_negatives_and_large_values() {
        assert_eq!(value_bucket(0.0), 0);
        assert_eq!(value_bucket(-5.0), 0);
        assert_eq!(value_bucket(f64::NAN), 0);
        assert_eq!(value_bucket(1e30), VALUE_BUCKETS - 1);
        let mut s = ValueSketch::default();
        for v in [0.0, 0.0, 0.0, 42.0] {
            s.add(v);
        }
        assert_eq!(s.percentile(50.0), Some(0.0));
        let p100 = s.percentile(100.0).unwrap();
        assert!((p100 / 42.0 - 1.0).abs() <= 0.10, "{p100}");
        assert_eq!(ValueSketch::decode(&s.encode()), Some(s.clone()));
    }

    proptest! {
        /// The percentile read from a value sketch is within 10 % of the exact nearest rank,
        /// from fractions of a percent to terabytes per second.
        #[test]
        fn value_percentiles_are_within_ten_percent(
            values in prop::collection::vec(0.002f64..1e13, 1..300),
            q in 1.0f64..100.0,
        ) {
            let mut h = ValueSketch::default();
            for v in &values {
                h.add(*v);
            }
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            let rank = ((q / 100.0 * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
            let exact = sorted[rank - 1];
            let got = h.percentile(q).unwrap();
            prop_assert!((got / exact - 1.0).abs() <= 0.10, "{got} vs {exact}");
        }
    }
}
