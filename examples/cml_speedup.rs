//! The speed-up experiment of the CML paper (§B.9 of the model's specification), recodb's way: a
//! catalogue of planted CML-like points large enough that brute force hurts, served exactly (every
//! item's distance, the SIMD full pass) against projection codes searched by the Hamming engine (MIH)
//! and re-ranked exactly, through the same `recodb::serve::retrieve` that RECOMMEND uses. For each code
//! length and candidate count it prints recall@10 against the exact answer and queries per second on one
//! thread, as a Markdown frontier table, and writes the frontier as an SVG plot.
//!
//! ```text
//! RAYON_NUM_THREADS=1 cargo run --release --example cml_speedup -- [--items N] [--queries Q] [--svg PATH]
//! ```
//!
//! The planted geometry: `clusters` centres drawn uniformly on the unit sphere of 64 dimensions, each
//! item a centre plus Gaussian noise, projected onto the sphere (as trained CML points nearly all sit on
//! it); a query user is drawn the same way from a random cluster.

use std::error::Error;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use rand::{RngExt, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use recodb::models::cml::CmlModel;
use recodb::models::Model;
use recodb::serve::retrieve;
use recodb_storage::RoaringBitmap;

const DIMS: usize = 64;
const K: usize = 10;
const BITS: [usize; 3] = [64, 128, 256];
const CANDIDATES: [usize; 7] = [50, 100, 200, 400, 1000, 1200, 1500];

/// A point near `centre` (or anywhere when `None`), on the unit sphere.
fn point(rng: &mut Xoshiro256PlusPlus, centre: Option<&[f32]>, noise: f32) -> Vec<f32> {
    let mut gauss = || {
        let (u1, u2): (f64, f64) = (rng.random::<f64>().max(f64::MIN_POSITIVE), rng.random());
        ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
    };
    let mut p: Vec<f32> = match centre {
        Some(c) => c.iter().map(|x| x + noise * gauss() / (DIMS as f32).sqrt()).collect(),
        None => (0..DIMS).map(|_| gauss()).collect(),
    };
    let norm = p.iter().map(|x| x * x).sum::<f32>().sqrt().max(f32::MIN_POSITIVE);
    p.iter_mut().for_each(|x| *x /= norm);
    p
}

/// One measured configuration: label, recall@10 against exact, queries per second.
struct Row {
    bits: usize,
    candidates: usize,
    recall: f64,
    qps: f64,
}

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let (mut n_items, mut n_queries, mut svg) = (1_000_000usize, 200usize, PathBuf::from("cml_speedup.svg"));
    while let Some(a) = args.next() {
        let value = args.next().ok_or(format!("{a} needs a value"))?;
        match a.as_str() {
            "--items" => n_items = value.parse()?,
            "--queries" => n_queries = value.parse()?,
            "--svg" => svg = PathBuf::from(value),
            _ => return Err(format!("unknown option {a}").into()),
        }
    }
    let clusters = (n_items / 500).max(1);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(2017);
    let centres: Vec<Vec<f32>> = (0..clusters).map(|_| point(&mut rng, None, 0.0)).collect();
    let mut items = Vec::with_capacity(n_items * DIMS);
    for i in 0..n_items {
        items.extend(point(&mut rng, Some(&centres[i % clusters]), 0.8));
    }
    let mut users = Vec::with_capacity(n_queries * DIMS);
    for _ in 0..n_queries {
        let c = (rng.random::<u64>() % clusters as u64) as usize;
        users.extend(point(&mut rng, Some(&centres[c]), 0.8));
    }
    eprintln!("{n_items} items in {clusters} clusters, {n_queries} query users, {DIMS} dimensions");
    let none = RoaringBitmap::new();
    let top = |model: &dyn Model, user: u32, wanted: usize| -> Result<Vec<u32>, Box<dyn Error>> {
        Ok(retrieve(model, None, user, &[], wanted, None, &none)?.items.into_iter().map(|p| p.0).collect())
    };

    let exact = CmlModel::from_points(DIMS, users.clone(), items.clone(), None, 1)?;
    let started = Instant::now();
    let truth: Vec<Vec<u32>> = (0..n_queries as u32).map(|u| top(&exact, u, K)).collect::<Result<_, _>>()?;
    let exact_qps = n_queries as f64 / started.elapsed().as_secs_f64();
    drop(exact);
    eprintln!("exact scan: {exact_qps:.1} queries/s");

    let mut rows = Vec::new();
    for bits in BITS {
        let built = Instant::now();
        let mut model =
            CmlModel::from_points(DIMS, users.clone(), items.clone(), Some((bits, CANDIDATES[0])), 1)?;
        eprintln!("{bits}-bit codes and index built in {:.1} s", built.elapsed().as_secs_f64());
        for candidates in CANDIDATES {
            model.set_candidates(candidates);
            let started = Instant::now();
            let found: Vec<Vec<u32>> =
                (0..n_queries as u32).map(|u| top(&model, u, K)).collect::<Result<_, _>>()?;
            let qps = n_queries as f64 / started.elapsed().as_secs_f64();
            let hits: usize =
                found.iter().zip(&truth).map(|(f, t)| f.iter().filter(|i| t.contains(i)).count()).sum();
            let recall = hits as f64 / (n_queries * K) as f64;
            eprintln!("{bits} bits, {candidates} candidates: recall@10 {recall:.4}, {qps:.0} queries/s");
            rows.push(Row { bits, candidates, recall, qps });
        }
    }

    println!("| path | code bits | candidates | recall@10 vs exact | queries/s (1 thread) | speed-up |");
    println!("|---|---|---|---|---|---|");
    println!("| exact scan | — | — | 1.0000 | {exact_qps:.1} | 1.0x |");
    for r in &rows {
        println!(
            "| codes + MIH + exact re-rank | {} | {} | {:.4} | {:.0} | {:.1}x |",
            r.bits,
            r.candidates,
            r.recall,
            r.qps,
            r.qps / exact_qps
        );
    }
    std::fs::write(&svg, plot(&rows, exact_qps))?;
    eprintln!("wrote {}", svg.display());
    Ok(())
}

/// The frontier as an SVG line plot: recall@10 across, speed-up over the exact scan up (log scale), one
/// line per code length.
fn plot(rows: &[Row], exact_qps: f64) -> String {
    let (w, h, m) = (640.0, 420.0, 60.0);
    let lo = rows.iter().map(|r| r.recall).fold(1.0f64, f64::min).min(0.9);
    let top = rows.iter().map(|r| (r.qps / exact_qps).log10()).fold(1.0f64, f64::max).ceil();
    let x = |recall: f64| m + (recall - lo) / (1.0 - lo) * (w - 2.0 * m);
    let y = |speedup: f64| h - m - speedup.log10().max(0.0) / top * (h - 2.0 * m);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" \
         font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    );
    let _ =
        writeln!(s, "<line x1=\"{m}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"black\"/>", h - m, w - m, h - m);
    let _ = writeln!(s, "<line x1=\"{m}\" y1=\"{m}\" x2=\"{m}\" y2=\"{}\" stroke=\"black\"/>", h - m);
    let _ = writeln!(
        s,
        "<text x=\"{}\" y=\"{}\">recall@10 against the exact answer</text>",
        w / 2.0 - 100.0,
        h - 20.0
    );
    let _ = writeln!(s, "<text x=\"10\" y=\"30\">speed-up over the exact scan (log), one thread</text>");
    for t in 0..=(top as i32) {
        let v = 10f64.powi(t);
        let _ = writeln!(s, "<text x=\"20\" y=\"{:.1}\">{v}x</text>", y(v) + 4.0);
    }
    for r in [lo, (lo + 1.0) / 2.0, 1.0] {
        let _ = writeln!(s, "<text x=\"{:.1}\" y=\"{}\">{r:.3}</text>", x(r) - 15.0, h - m + 18.0);
    }
    let colours = ["#1b9e77", "#d95f02", "#7570b3"];
    for (bits, colour) in BITS.iter().zip(colours) {
        let points: Vec<String> = rows
            .iter()
            .filter(|r| r.bits == *bits)
            .map(|r| format!("{:.1},{:.1}", x(r.recall), y(r.qps / exact_qps)))
            .collect();
        let _ = writeln!(
            s,
            "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" points=\"{}\"/>",
            points.join(" ")
        );
        for p in &points {
            let (px, py) = p.split_once(',').unwrap_or(("0", "0"));
            let _ = writeln!(s, "<circle cx=\"{px}\" cy=\"{py}\" r=\"3\" fill=\"{colour}\"/>");
        }
        let ly = 60.0 + 18.0 * BITS.iter().position(|b| b == bits).unwrap_or(0) as f64;
        let _ = writeln!(s, "<text x=\"{}\" y=\"{ly}\" fill=\"{colour}\">{bits} bits</text>", w - m - 60.0);
    }
    s.push_str("</svg>\n");
    s
}
