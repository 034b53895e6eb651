//! The planner: MIH or scan, from the code length, the item count and the filter's cardinality, and the
//! [`Explain`] record of what a search did.
//!
//! At build time the index times a sample of queries (codes of its own items) on the scan and on MIH with
//! a few values of `m`, and keeps MIH only if it beat the scan: on uniform random codes, where MIH cannot
//! win, the index decides once to scan (a per-query time-out fallback would make slow queries pay for
//! both). Per query, an allowed set of `a` of `n` ids makes MIH examine about `n / a` times as many
//! candidates before it holds `k` allowed hits, while a scan of the allowed ids costs `a` gathered codes:
//! the planner compares the three estimates from the build-time timings.

use std::fmt;
use std::time::Duration;

use super::kernels::Kernel;

/// The access path of one search.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Path {
    /// Multi-index hashing.
    Mih,
    /// A linear scan over every code.
    Scan,
    /// A scan over the codes of the allowed ids only.
    ScanAllowed,
}

impl Path {
    /// A short name for `EXPLAIN`.
    pub fn name(self) -> &'static str {
        match self {
            Path::Mih => "multi-index hashing",
            Path::Scan => "linear scan",
            Path::ScanAllowed => "scan of the allowed ids",
        }
    }
}

/// What one search did and why, as `EXPLAIN` prints it.
#[derive(Debug, Clone, PartialEq)]
pub struct Explain {
    /// The path taken.
    pub path: Path,
    /// Why the planner took it.
    pub reason: &'static str,
    /// The distance kernel.
    pub kernel: Kernel,
    /// MIH tables in the index (0 without tables).
    pub tables: usize,
    /// Bits of the longest substring (0 without tables).
    pub substring_bits: u32,
    /// For MIH, the distance up to which every code was seen.
    pub radius: u32,
    /// For MIH, bucket look-ups.
    pub buckets_probed: u64,
    /// Codes whose full distance was computed.
    pub candidates: u64,
    /// Candidates dropped by the allowed set (MIH checks it only on codes close enough to enter the top k).
    pub filtered: u64,
    /// For MIH with the packed layout, codes close enough to enter whose ids were looked up in the first
    /// table.
    pub lookups: u64,
    /// For MIH, whether the rounds gave way to a full scan (probing would have cost more).
    pub gave_way: bool,
    /// Wall time of the search.
    pub elapsed: Duration,
}

impl Explain {
    pub(crate) fn new(path: Path, reason: &'static str, kernel: Kernel) -> Explain {
        Explain {
            path,
            reason,
            kernel,
            tables: 0,
            substring_bits: 0,
            radius: 0,
            buckets_probed: 0,
            candidates: 0,
            filtered: 0,
            lookups: 0,
            gave_way: false,
            elapsed: Duration::ZERO,
        }
    }
}

impl fmt::Display for Explain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}); kernel {}", self.path.name(), self.reason, self.kernel.name())?;
        if self.path == Path::Mih {
            write!(
                f,
                "; {} tables of up to {} bits, radius {}, {} buckets probed, {} ids looked up",
                self.tables, self.substring_bits, self.radius, self.buckets_probed, self.lookups
            )?;
        }
        write!(f, "; {} candidates, {} filtered; {:?}", self.candidates, self.filtered, self.elapsed)
    }
}

/// Build-time timings the per-query choice is made from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Plan {
    /// Whether MIH beat the scan on the build sample (tables are kept only then).
    pub(crate) mih: bool,
    /// Why the index scans or hashes.
    pub(crate) reason: &'static str,
    /// Seconds per unfiltered MIH query.
    pub(crate) mih_s: f64,
    /// Seconds per code of a full scan.
    pub(crate) scan_s: f64,
    /// Seconds per code of a scan over listed ids.
    pub(crate) gather_s: f64,
}

impl Plan {
    /// The path for a search over `slots` code slots with `allowed` ids allowed (`None`: no allowed set).
    /// MIH must reach farther to find `k` allowed codes; measured on clustered codes, its time grows
    /// about as the square root of `slots / allowed` (a 10% allowed set costs 3-4x the unfiltered time).
    pub(crate) fn choose(&self, slots: u32, allowed: Option<u64>) -> (Path, &'static str) {
        let scan = self.scan_s * f64::from(slots);
        let Some(a) = allowed else {
            return if self.mih { (Path::Mih, self.reason) } else { (Path::Scan, self.reason) };
        };
        let gather = self.gather_s * a as f64;
        let mih =
            if self.mih { self.mih_s * (f64::from(slots) / (a.max(1) as f64)).sqrt() } else { f64::INFINITY };
        if mih <= scan.min(gather) {
            (Path::Mih, "MIH estimated fastest for this filter")
        } else if gather < scan {
            (Path::ScanAllowed, "allowed set small: scanning its ids is estimated fastest")
        } else {
            (Path::Scan, "filter selective: a full scan is estimated fastest")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_allowed_sets_are_scanned() {
        let plan = Plan { mih: true, reason: "test", mih_s: 50e-6, scan_s: 0.3e-9, gather_s: 2e-9 };
        assert_eq!(plan.choose(1_000_000, None).0, Path::Mih);
        assert_eq!(plan.choose(1_000_000, Some(500_000)).0, Path::Mih);
        assert_eq!(plan.choose(1_000_000, Some(1000)).0, Path::ScanAllowed);
        let no_mih = Plan { mih: false, ..plan };
        assert_eq!(no_mih.choose(1_000_000, None).0, Path::Scan);
        assert_eq!(no_mih.choose(1_000_000, Some(900_000)).0, Path::Scan);
        let e = Explain::new(Path::Mih, "why", Kernel::Portable);
        assert!(e.to_string().contains("multi-index hashing (why)"));
    }
}
