//! Parsing speed. Target: at least 1,000,000 statements per second on one core (<= 1 µs each) for the
//! canonical `RECOMMEND user 42 TOP 10 USING m`.
//!
//! `cargo bench -p recodb-query --bench parse -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use recodb_query::{parse_script, parse_statement, Lexer};

fn parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Elements(1));
    group.bench_function("recommend", |b| {
        b.iter(|| parse_statement(black_box("RECOMMEND user 42 TOP 10 USING m")))
    });
    group.bench_function("recommend_lex_only", |b| {
        b.iter(|| Lexer::new(black_box("RECOMMEND user 42 TOP 10 USING m")).count())
    });
    group.bench_function("recommend_filtered", |b| {
        b.iter(|| {
            parse_statement(black_box(
                "RECOMMEND USER 'alice' TOP 20 USING taste RERANK 200 USING fine \
                 WHERE (TAG = 'genre:Comedy' OR TAG IN ('genre:Drama', 'era:90s')) AND NOT ITEM IN (1, 2, 3)",
            ))
        })
    });
    let script = "INSERT INTERACTION USER 123 ITEM 'sku-9' WEIGHT 4.5 AT 1700000000;\n".repeat(1000);
    group.throughput(Throughput::Elements(1000));
    group.bench_function("insert_script_1000", |b| b.iter(|| parse_script(black_box(&script))));
    group.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);
