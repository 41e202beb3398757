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
}
