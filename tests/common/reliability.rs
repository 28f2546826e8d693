//! Reliability helpers (issue 6): scale knobs (`SSOSYNC_STRESS`), a seeded RNG,
//! bounded runs, secret and file-tree checks, and extra SSO profiles in a home.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::home::{Home, Run, in_secs};

/// `SSOSYNC_STRESS=1` turns the quick default loops into long ones.
pub fn stress() -> bool {
    std::env::var("SSOSYNC_STRESS").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// `quick` iterations by default, `long` with `SSOSYNC_STRESS=1`.
pub fn iterations(quick: usize, long: usize) -> usize {
    if stress() { long } else { quick }
}

/// A small deterministic generator (SplitMix64): no `rand` dependency, and a
/// failing run can be replayed with `SSOSYNC_SEED=<printed seed>`.
pub struct Rng(u64);

impl Rng {
    /// Seeded from `SSOSYNC_SEED`, else from the clock; prints the seed so a
    /// failure can be reproduced.
    pub fn from_env(what: &str) -> Self {
        let seed = std::env::var("SSOSYNC_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64)
            });
        eprintln!("{what}: SSOSYNC_SEED={seed}");
        Rng(seed)
    }

    pub fn seeded(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// A finished run, or `None` when it had to be killed after `limit`.
pub fn run_bounded(mut cmd: Command, limit: std::time::Duration) -> Option<Run> {
    use std::io::Read;
    cmd.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = crate::common::started(|| cmd.spawn());
    // Drain both pipes on threads so a chatty child cannot block on a full pipe.
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out_thread = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out.read_to_end(&mut s);
        s
    });
    let err_thread = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        s
    });
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    let stdout = out_thread.join().unwrap();
    let stderr = err_thread.join().unwrap();
    status.map(|s| Run {
        code: s.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    })
}

/// Panics if any of `secrets` appears in the run's output.
pub fn assert_no_secret_in(run: &Run, secrets: &[String], context: &str) {
    for secret in secrets {
        assert!(
            !run.all_output().contains(secret.as_str()),
            "{context}: a secret value reached the output: {run:?}"
        );
    }
}

/// The account id of extra profile `n` (see [`Home::add_sso_profiles`]).
pub fn extra_account(n: usize) -> String {
    format!("4{n:011}")
}

/// Every user-visible file under `dir`, with its bytes (symlinks as their target
/// text, folders as a marker), to prove nothing changed.
pub fn snapshot_tree(dir: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            let rel = path.strip_prefix(dir).unwrap().to_path_buf();
            if meta.file_type().is_symlink() {
                let target = std::fs::read_link(&path).unwrap();
                out.insert(rel, format!("symlink -> {}", target.display()).into_bytes());
            } else if meta.is_dir() {
                out.insert(rel, b"<dir>".to_vec());
                stack.push(path);
            } else if meta.is_file() {
                out.insert(
                    rel,
                    std::fs::read(&path)
                        .unwrap_or_else(|e| format!("<unreadable: {e}>").into_bytes()),
                );
            } else {
                out.insert(rel, b"<special>".to_vec());
            }
        }
    }
    out
}

impl Home {
    /// Adds `count` sso-session profiles `p01`… (account [`extra_account`], role
    /// `Worker`) to the config and grants them in the portal.
    pub fn add_sso_profiles(&self, count: usize) -> Vec<String> {
        let mut config = self.read(".aws/config");
        let mut names = Vec::new();
        for n in 1..=count {
            let name = format!("p{n:02}");
            config.push_str(&format!(
                "\n[profile {name}]\nsso_session = corp\nsso_account_id = {}\nsso_role_name = Worker\n",
                extra_account(n)
            ));
            self.portal.grant(&extra_account(n), "Worker");
            names.push(name);
        }
        self.write(".aws/config", config);
        names
    }

    /// Gives the legacy profile a token too, so `legacy` syncs.
    pub fn enable_legacy(&self) {
        self.cache_legacy_token(
            "https://legacy.awsapps.com/start",
            "us-east-2",
            "tok-legacy-5e4d3c2b1a",
            &in_secs(3600),
        );
        self.portal.add_token("tok-legacy-5e4d3c2b1a");
    }
}
