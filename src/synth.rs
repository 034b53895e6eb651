//! Synthetic implicit feedback with planted structure, for unit tests and the demo.
//!
//! Users fall into `clusters` groups; every item has a home cluster, and each cluster prefers its own
//! items with a Zipf-shaped taste. An interaction comes from the user's cluster taste with probability
//! `taste_strength`, otherwise from a long-tailed (Zipf) global popularity. So popularity is a fair
//! baseline, and a model that finds the clusters beats it by a wide margin.
//!
//! Generation is deterministic for a seed whatever the number of threads: the shared structure comes
//! from one generator, and each user's interactions from a generator seeded by the seed and the user.

use recodb_storage::hamming::IdSet;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use rand::{RngExt, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;

/// The shape of a synthetic data set.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthConfig {
    /// Number of users (ids `0..users`).
    pub users: u32,
    /// Number of items (ids `0..items`).
    pub items: u32,
    /// Mean interactions per user; each user's count varies (long-tailed), at least 1.
    pub interactions_per_user: u32,
    /// Number of user groups with shared tastes (at least 1, at most `items`).
    pub clusters: u32,
    /// Probability that an interaction comes from the user's cluster taste rather than global
    /// popularity, in `[0, 1]` (e.g. 0.8).
    pub taste_strength: f64,
    /// Exponent of the Zipf-shaped popularity: weight of rank `r` is `1 / r^s` (0 is uniform).
    pub zipf_exponent: f64,
    /// The seed: the same seed gives the same data.
    pub seed: u64,
}

impl SynthConfig {
    /// The demo data set: 2,000 users, 1,000 items, about 50 interactions per user, 20 clusters.
    pub fn demo() -> Self {
        SynthConfig {
            users: 2_000,
            items: 1_000,
            interactions_per_user: 50,
            clusters: 20,
            taste_strength: 0.8,
            zipf_exponent: 1.0,
            seed: 42,
        }
    }

    /// A data set of about `total` interactions (at least 100): up to 50 per user, about two users per
    /// item, and about 50 items per cluster (2 to 100 clusters). 100,000 gives the demo's shape.
    pub fn with_interactions(total: u64, seed: u64) -> Self {
        let total = total.max(100);
        let per_user = ((total as f64).sqrt() / 4.0).clamp(5.0, 50.0) as u64;
        let users = (total / per_user).min(u64::from(u32::MAX / 2));
        let items = (users / 2).clamp(50, 1_000_000);
        let clusters = (items / 50).clamp(2, 100);
        SynthConfig {
            users: users as u32,
            items: items as u32,
            interactions_per_user: per_user as u32,
            clusters: clusters as u32,
            taste_strength: 0.8,
            zipf_exponent: 1.0,
            seed,
        }
    }
}

/// A generated data set.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SynthData {
    /// `(user, item)` pairs: no duplicates, sorted by user and then item.
    pub interactions: Vec<(u32, u32)>,
    /// Each user's cluster.
    pub user_cluster: Vec<u32>,
    /// Each item's home cluster: the cluster whose taste prefers it.
    pub item_cluster: Vec<u32>,
}

/// A discrete distribution sampled by binary search in its cumulative weights.
struct Cumulative {
    values: Vec<u32>,
    cumulative: Vec<f64>,
}

impl Cumulative {
    /// `values[k]` gets weight `1 / (k + 1)^exponent`: the first value is the most likely.
    fn zipf(values: Vec<u32>, exponent: f64) -> Cumulative {
        let mut sum = 0.0;
        let cumulative = (0..values.len())
            .map(|k| {
                sum += ((k + 1) as f64).powf(-exponent);
                sum
            })
            .collect();
        Cumulative { values, cumulative }
    }

    fn sample(&self, rng: &mut Xoshiro256PlusPlus) -> Option<u32> {
        let total = *self.cumulative.last()?;
        let x = rng.random::<f64>() * total;
        let i = self.cumulative.partition_point(|&c| c <= x).min(self.values.len() - 1);
        Some(self.values[i])
    }
}

/// The shared structure: who is in which cluster, and the popularity and tastes.
struct World {
    popularity: Cumulative,
    tastes: Vec<Cumulative>,
    user_cluster: Vec<u32>,
    item_cluster: Vec<u32>,
}

fn shuffled(n: u32, rng: &mut Xoshiro256PlusPlus) -> Vec<u32> {
    let mut v: Vec<u32> = (0..n).collect();
    for i in (1..v.len()).rev() {
        let j = rng.random_range(0..=i);
        v.swap(i, j);
    }
    v
}

impl World {
    fn new(config: &SynthConfig, clusters: u32, exponent: f64) -> World {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(config.seed);
        // Popularity ranks are a random permutation, so ids say nothing about popularity.
        let popularity = Cumulative::zipf(shuffled(config.items, &mut rng), exponent);
        // Home clusters in round robin over another permutation: clusters of equal size. The order
        // within a cluster is its taste ranking, independent of global popularity.
        let mut item_cluster = vec![0u32; config.items as usize];
        let mut members: Vec<Vec<u32>> = vec![Vec::new(); clusters as usize];
        for (p, item) in shuffled(config.items, &mut rng).into_iter().enumerate() {
            let c = (p % clusters as usize) as u32;
            item_cluster[item as usize] = c;
            members[c as usize].push(item);
        }
        let tastes = members.into_iter().map(|m| Cumulative::zipf(m, exponent)).collect();
        let user_cluster = (0..config.users).map(|_| rng.random_range(0..clusters)).collect();
        World { popularity, tastes, user_cluster, item_cluster }
    }
}

/// Generates the data set `config` describes. Out-of-range settings are brought into range (at least
/// one cluster, at most one per item; taste strength in `[0, 1]`); no users or no items give no data.
pub fn generate(config: &SynthConfig) -> SynthData {
    if config.users == 0 || config.items == 0 {
        return SynthData {
            user_cluster: vec![0; config.users as usize],
            item_cluster: vec![0; config.items as usize],
            ..SynthData::default()
        };
    }
    let clusters = config.clusters.clamp(1, config.items);
    let exponent = if config.zipf_exponent.is_finite() { config.zipf_exponent.max(0.0) } else { 1.0 };
    let taste = if config.taste_strength.is_finite() { config.taste_strength.clamp(0.0, 1.0) } else { 0.8 };
    let world = World::new(config, clusters, exponent);
    let mean = f64::from(config.interactions_per_user.max(1));
    let cap = (config.items / 2).max(1) as usize;

    let per_user: Vec<Vec<u32>> = (0..config.users)
        .into_par_iter()
        .map_init(IdSet::default, |seen, user| {
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(user_seed(config.seed, user));
            // A long-tailed count with the given mean: half of it fixed, half exponential.
            let spread = -(1.0 - rng.random::<f64>()).ln();
            let wanted = ((mean * (0.5 + 0.5 * spread)).round() as usize).clamp(1, cap);
            let taste_of = &world.tastes[world.user_cluster[user as usize] as usize];
            let mut items = Vec::with_capacity(wanted);
            let mut attempts = 0;
            // A repeat is drawn again, and may then come from the other source: a user whose
            // cluster is exhausted moves on to popular items.
            while items.len() < wanted && attempts < 30 * wanted + 100 {
                attempts += 1;
                let source = if rng.random::<f64>() < taste { taste_of } else { &world.popularity };
                let Some(item) = source.sample(&mut rng) else { continue };
                if seen.insert(item) {
                    items.push(item);
                }
            }
            for &item in &items {
                seen.remove(item);
            }
            items.sort_unstable();
            items
        })
        .collect();

    let total = per_user.iter().map(Vec::len).sum();
    let mut interactions = Vec::with_capacity(total);
    for (user, items) in per_user.into_iter().enumerate() {
        interactions.extend(items.into_iter().map(|i| (user as u32, i)));
    }
    SynthData { interactions, user_cluster: world.user_cluster, item_cluster: world.item_cluster }
}

/// The seed of one user's generator: the data set's seed and the user, mixed.
fn user_seed(seed: u64, user: u32) -> u64 {
    let mut z = seed ^ (u64::from(user) + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl SynthData {
    /// Writes `user<TAB>item` lines (headerless, importable with no options).
    pub fn write_tsv(&self, path: &Path) -> std::io::Result<()> {
        let mut out = BufWriter::with_capacity(256 * 1024, File::create(path)?);
        for (user, item) in &self.interactions {
            writeln!(out, "{user}\t{item}")?;
        }
        out.flush()
    }

    /// Writes each item's home cluster as a tsv with header `item<TAB>cluster`, so that importing it
    /// as items with `header = true` tags every item `cluster:K`, for tag filters.
    pub fn write_item_tags_tsv(&self, path: &Path) -> std::io::Result<()> {
        let mut out = BufWriter::with_capacity(256 * 1024, File::create(path)?);
        writeln!(out, "item\tcluster")?;
        for (item, cluster) in self.item_cluster.iter().enumerate() {
            writeln!(out, "{item}\t{cluster}")?;
        }
        out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::read::{read_entities, read_interactions, ImportSpec, Target};
    use crate::value::Value;
    use recodb_storage::Key;

    fn small() -> SynthConfig {
        SynthConfig { users: 600, items: 400, interactions_per_user: 30, clusters: 8, ..SynthConfig::demo() }
    }

    fn item_counts(data: &SynthData, items: u32) -> Vec<u32> {
        let mut counts = vec![0u32; items as usize];
        for &(_, i) in &data.interactions {
            counts[i as usize] += 1;
        }
        counts
    }

    #[test]
    fn deterministic_for_a_seed_on_any_thread_count() {
        let a = generate(&small());
        let one_thread = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        let b = one_thread.install(|| generate(&small()));
        assert_eq!(a, b);
        let c = generate(&SynthConfig { seed: 43, ..small() });
        assert_ne!(a.interactions, c.interactions);
        assert_ne!(a.item_cluster, c.item_cluster);
    }

    #[test]
    fn counts_ranges_and_no_duplicates() {
        let config = SynthConfig::demo();
        let data = generate(&config);
        assert!(data.interactions.windows(2).all(|w| w[0] < w[1]), "sorted, no duplicate pairs");
        assert!(data.interactions.iter().all(|&(u, i)| u < config.users && i < config.items));
        let target = f64::from(config.users) * f64::from(config.interactions_per_user);
        let total = data.interactions.len() as f64;
        assert!((total / target - 1.0).abs() < 0.1, "{total} interactions for a target of {target}");
        let mut per_user = vec![0u32; config.users as usize];
        data.interactions.iter().for_each(|&(u, _)| per_user[u as usize] += 1);
        assert!(per_user.iter().all(|&n| n >= 1));
        assert!(per_user.iter().any(|&n| n >= 2 * config.interactions_per_user), "counts vary");
        assert_eq!(data.user_cluster.len(), config.users as usize);
        assert_eq!(data.item_cluster.len(), config.items as usize);
        assert!(data.user_cluster.iter().chain(&data.item_cluster).all(|&c| c < config.clusters));
        // Every cluster is home to items/clusters items.
        let mut sizes = vec![0u32; config.clusters as usize];
        data.item_cluster.iter().for_each(|&c| sizes[c as usize] += 1);
        assert!(sizes.iter().all(|&s| s == config.items / config.clusters), "{sizes:?}");
    }

    #[test]
    fn item_popularity_is_long_tailed() {
        let config = SynthConfig::demo();
        let mut counts = item_counts(&generate(&config), config.items);
        counts.sort_unstable();
        let (max, median) = (counts[counts.len() - 1], counts[counts.len() / 2].max(1));
        assert!(max >= 10 * median, "most popular {max}, median {median}");
    }

    /// Top-10 lists from a score, skipping the user's own training items; returns hits in `held`.
    fn hits(ranked: &[u32], train: &[u32], held: &[u32]) -> usize {
        ranked.iter().filter(|i| !train.contains(i)).take(10).filter(|i| held.contains(i)).count()
    }

    fn by_count(counts: &[u32]) -> Vec<u32> {
        let mut order: Vec<u32> = (0..counts.len() as u32).collect();
        order.sort_by_key(|&i| (std::cmp::Reverse(counts[i as usize]), i));
        order
    }

    #[test]
    fn cluster_popularity_beats_global_popularity() {
        let config = SynthConfig::demo();
        let data = generate(&config);
        // Hold out every fifth interaction of each user (20%).
        let mut train: Vec<Vec<u32>> = vec![Vec::new(); config.users as usize];
        let mut held: Vec<Vec<u32>> = vec![Vec::new(); config.users as usize];
        for user in data.interactions.chunk_by(|a, b| a.0 == b.0) {
            for (k, &(u, i)) in user.iter().enumerate() {
                let side = if k % 5 == 4 { &mut held } else { &mut train };
                side[u as usize].push(i);
            }
        }
        let mut global = vec![0u32; config.items as usize];
        let mut by_cluster = vec![vec![0u32; config.items as usize]; config.clusters as usize];
        for (u, items) in train.iter().enumerate() {
            for &i in items {
                global[i as usize] += 1;
                by_cluster[data.user_cluster[u] as usize][i as usize] += 1;
            }
        }
        let global = by_count(&global);
        let by_cluster: Vec<Vec<u32>> = by_cluster.iter().map(|c| by_count(c)).collect();
        let (mut global_hits, mut cluster_hits) = (0, 0);
        for u in 0..config.users as usize {
            global_hits += hits(&global, &train[u], &held[u]);
            cluster_hits += hits(&by_cluster[data.user_cluster[u] as usize], &train[u], &held[u]);
        }
        assert!(global_hits > 0);
        assert!(cluster_hits >= 2 * global_hits, "cluster {cluster_hits} hits, global {global_hits}");
    }

    #[test]
    fn with_interactions_scales() {
        let c = SynthConfig::with_interactions(100_000, 7);
        assert_eq!((c.users, c.items, c.interactions_per_user, c.clusters), (2_000, 1_000, 50, 20));
        let c = SynthConfig::with_interactions(10_000_000, 7);
        assert_eq!((c.users, c.items, c.interactions_per_user, c.clusters), (200_000, 100_000, 50, 100));
        let c = SynthConfig::with_interactions(1_000, 7);
        assert_eq!((c.users, c.items, c.interactions_per_user, c.clusters), (142, 71, 7, 2));
        let data = generate(&SynthConfig::with_interactions(10_000, 7));
        let total = data.interactions.len() as f64;
        assert!((total / 10_000.0 - 1.0).abs() < 0.15, "{total}");
    }

    #[test]
    fn degenerate_configs_do_not_panic() {
        let none = generate(&SynthConfig { users: 0, ..small() });
        assert!(none.interactions.is_empty());
        assert_eq!(none.item_cluster.len(), 400);
        let odd =
            SynthConfig { items: 3, clusters: 0, taste_strength: f64::NAN, zipf_exponent: -2.0, ..small() };
        let data = generate(&odd);
        assert!(data.interactions.iter().all(|&(_, i)| i < 3));
        assert_eq!(data.interactions.len(), 600, "one item each: at most half of 3 items");
    }

    #[test]
    fn written_files_import_with_the_readers() {
        let data = generate(&small());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("synth.tsv");
        data.write_tsv(&path).unwrap();
        let spec = ImportSpec::new(&path, Target::Interactions, None, &[]).unwrap();
        let mut read = Vec::new();
        read_interactions(&spec, &mut |_, _| true, &mut |r| read.push((r.user, r.item))).unwrap();
        let expected: Vec<(Key, Key)> =
            data.interactions.iter().map(|&(u, i)| (Key::Int(u.into()), Key::Int(i.into()))).collect();
        assert_eq!(read, expected);

        let tags = dir.path().join("item_tags.tsv");
        data.write_item_tags_tsv(&tags).unwrap();
        let spec = ImportSpec::new(&tags, Target::Items, None, &[("header".to_string(), Value::Bool(true))])
            .unwrap();
        let mut items = Vec::new();
        read_entities(&spec, &mut |_, _| true, &mut |e| items.push(e)).unwrap();
        assert_eq!(items.len(), 400);
        assert_eq!(items[5].key, Key::Int(5));
        assert_eq!(items[5].tags, vec![format!("cluster:{}", data.item_cluster[5])]);
    }
}
