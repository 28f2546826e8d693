//! Placeholder replaced by the benchmark harness (issue 7).
use criterion::{Criterion, criterion_group, criterion_main};

fn parse(c: &mut Criterion) {
    let text = "[a]\nk = v\n".repeat(1000);
    c.bench_function("parse 1k sections", |b| {
        b.iter(|| ssosync::profile_file::ProfileFile::parse(&text).unwrap())
    });
}

criterion_group!(benches, parse);
criterion_main!(benches);
