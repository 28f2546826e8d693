//! The profile-file editor on big files: parse, render, one lookup, one entry's
//! edits, one appended section, at 1k, 10k and 100k sections.
//!
//! ```sh
//! cargo bench --bench editor                 # everything (a few minutes)
//! cargo bench --bench editor -- '/10000'     # one size
//! ```
//!
//! The files look like what ssosync writes: one `[pN]` section per profile with an
//! access key, a secret, the session token twice (about 320 characters, like the
//! fake portal's) and an expiry, about 800 bytes per section. Each operation
//! should cost time linear in the file size (parse, render) or in the size of the
//! sections it touches (lookups, edits); BENCHMARKS.md lists the results.

// A benchmark, not shipped: inputs are built to be valid.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ssosync::profile_file::{FileKind, ProfileFile};

const SIZES: [usize; 3] = [1_000, 10_000, 100_000];

/// A credentials file with `n` ssosync-style sections.
fn credentials(n: usize) -> String {
    let mut token = String::from("FakeSessionToken");
    while token.len() < 316 {
        token.push_str("AbCdEfGhIjKlMnOpQrStUvWxYz0123456789+/");
    }
    token.truncate(316);
    let mut text = String::with_capacity(n * 820);
    for i in 0..n {
        text.push_str(&format!(
            "[p{i}]\naws_access_key_id = ASIABENCH{i:07}\naws_secret_access_key = fakeSecret{i:030}\n\
             aws_session_token = {token}\naws_security_token = {token}\n\
             aws_credential_expiration = 2099-01-01T00:00:00Z\n\n"
        ));
    }
    text
}

/// A config file with `n` sso-session profiles over three sessions.
fn config(n: usize) -> String {
    let mut text = String::new();
    for s in 0..3 {
        text.push_str(&format!(
            "[sso-session s{s}]\nsso_start_url = https://s{s}.awsapps.com/start\nsso_region = eu-west-1\n\n"
        ));
    }
    for i in 0..n {
        text.push_str(&format!(
            "[profile p{i}]\nsso_session = s{}\nsso_account_id = {:012}\nsso_role_name = Dev\nregion = us-east-1\n\n",
            i % 3,
            100_000_000_000u64 + i as u64
        ));
    }
    text
}

/// The keys ssosync writes for one entry, with new values of the same shape.
fn entry(i: usize) -> Vec<(&'static str, String)> {
    vec![
        ("aws_access_key_id", format!("ASIANEWKEY{i:07}")),
        ("aws_secret_access_key", format!("newSecret{i:031}")),
        ("aws_session_token", "NewSessionToken".repeat(21)),
        ("aws_security_token", "NewSessionToken".repeat(21)),
        ("aws_credential_expiration", "2099-06-01T00:00:00Z".into()),
    ]
}

fn new_group<'a>(
    c: &'a mut Criterion,
    name: &str,
) -> criterion::BenchmarkGroup<'a, criterion::measurement::WallTime> {
    let mut group = c.benchmark_group(name);
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    group
}

fn parse(c: &mut Criterion) {
    let mut group = new_group(c, "parse credentials");
    for n in SIZES {
        let text = credentials(n);
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &text, |b, text| {
            b.iter_with_large_drop(|| ProfileFile::parse(black_box(text)).unwrap())
        });
    }
    group.finish();

    let mut group = new_group(c, "parse + merge config");
    for n in SIZES {
        let text = config(n);
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &text, |b, text| {
            b.iter_with_large_drop(|| {
                ProfileFile::parse(black_box(text))
                    .unwrap()
                    .profile_set(FileKind::Config)
            })
        });
    }
    group.finish();
}

fn render(c: &mut Criterion) {
    let mut group = new_group(c, "render credentials");
    for n in SIZES {
        let file = ProfileFile::parse(&credentials(n)).unwrap();
        group.throughput(Throughput::Bytes(file.render().len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &file, |b, file| {
            b.iter_with_large_drop(|| file.render())
        });
    }
    group.finish();
}

fn lookup(c: &mut Criterion) {
    // What deciding one target costs once the file is parsed (the first lookup
    // also builds the section index; it is built here before timing).
    let mut group = new_group(c, "look up one profile");
    for n in SIZES {
        let file = ProfileFile::parse(&credentials(n)).unwrap();
        let name = format!("p{}", n / 2);
        let _ = file.profile_sections(FileKind::Credentials, &name).count();
        group.bench_with_input(BenchmarkId::from_parameter(n), &file, |b, file| {
            b.iter(|| {
                file.profile_sections(FileKind::Credentials, black_box(&name))
                    .map(|s| s.get("aws_credential_expiration"))
                    .last()
            })
        });
    }
    group.finish();

    let mut group = new_group(c, "build the section index");
    for n in SIZES {
        let file = ProfileFile::parse(&credentials(n)).unwrap();
        group.bench_with_input(BenchmarkId::from_parameter(n), &file, |b, file| {
            b.iter_batched(
                || file.clone(),
                |file| {
                    let found = file.profile_sections(FileKind::Credentials, "p0").count();
                    (file, found)
                },
                criterion::BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

fn edit(c: &mut Criterion) {
    // One entry rewritten in place (the middle section), as a sync of one stale
    // profile does; the clone of the parsed file is made (and dropped) outside
    // the timing. Its line vector has no spare room, so appending a section
    // includes one reallocation of it (a freshly parsed file keeps a little room).
    let mut group = new_group(c, "set one entry");
    for n in SIZES {
        let parsed = ProfileFile::parse(&credentials(n)).unwrap();
        let _ = parsed.profile_sections(FileKind::Credentials, "p0").count();
        let name = format!("p{}", n / 2);
        let values = entry(n / 2);
        group.bench_with_input(BenchmarkId::from_parameter(n), &parsed, |b, parsed| {
            b.iter_batched(
                || parsed.clone(),
                |mut file| {
                    for (key, value) in &values {
                        file.set(&name, key, value);
                    }
                    file
                },
                criterion::BatchSize::LargeInput,
            )
        });
    }
    group.finish();

    let mut group = new_group(c, "append one section");
    for n in SIZES {
        let parsed = ProfileFile::parse(&credentials(n)).unwrap();
        let values = entry(n);
        let entries: Vec<(&str, &str)> = values.iter().map(|(k, v)| (*k, v.as_str())).collect();
        group.bench_with_input(BenchmarkId::from_parameter(n), &parsed, |b, parsed| {
            b.iter_batched(
                || parsed.clone(),
                |mut file| {
                    file.append_section("new-profile", &entries);
                    file
                },
                criterion::BatchSize::LargeInput,
            )
        });
    }
    group.finish();

    // The whole edit of one target as the sync does it: parse, set its keys,
    // render the new text.
    let mut group = new_group(c, "parse + set one entry + render");
    for n in SIZES {
        let text = credentials(n);
        let name = format!("p{}", n / 2);
        let values = entry(n / 2);
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &text, |b, text| {
            b.iter_with_large_drop(|| {
                let mut file = ProfileFile::parse(text).unwrap();
                for (key, value) in &values {
                    file.set(&name, key, value);
                }
                file.render()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, parse, render, lookup, edit);
criterion_main!(benches);
