//! `ssosync man`: the manual page on stdout, or with `--dir` one page per
//! command (`ssosync.1`, `ssosync-login.1`, …), the pages the main page's
//! SUBCOMMANDS section names. Generated from the command line itself.

use std::io::Write;

use anyhow::{Context, anyhow};
use clap::CommandFactory;

use crate::cli::{Cli, ManArgs};
use crate::config::environment::Environment;
use crate::exit::{Exit, Fatal};

pub fn run(args: &ManArgs, env: &Environment) -> Result<Exit, Fatal> {
    let Some(dir) = &args.dir else {
        return match clap_mangen::Man::new(command()).render(&mut std::io::stdout()) {
            Ok(()) => Ok(Exit::Ok),
            // A reader that stops early (`| head`) is no error.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(Exit::Ok),
            Err(e) => Err(Fatal::Other(anyhow!("cannot write the manual page: {e}"))),
        };
    };
    let shown = env.display_path(dir);
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {shown}"))?;
    for (name, page) in pages()? {
        let path = dir.join(&name);
        std::fs::write(&path, page)
            .with_context(|| format!("cannot write {}", env.display_path(&path)))?;
        // A reader that stops early (`| head`) stops no page being written.
        let _ = writeln!(std::io::stdout(), "{}", env.display_path(&path));
    }
    Ok(Exit::Ok)
}

/// The command line as the pages describe it: no `help` command (each page has
/// its options), names built (`ssosync-login`).
fn command() -> clap::Command {
    let mut command = Cli::command().disable_help_subcommand(true);
    command.build();
    command
}

/// Every page as (file name, roff): the main page, then one per visible command
/// (not `help`, nor hidden ones), named as the main page names them.
fn pages() -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let mut pages = Vec::new();
    let mut todo = vec![command()];
    while let Some(command) = todo.pop() {
        todo.extend(
            command
                .get_subcommands()
                .filter(|s| !s.is_hide_set())
                .cloned(),
        );
        let man = clap_mangen::Man::new(command);
        let mut page = Vec::new();
        man.render(&mut page)
            .map_err(|e| anyhow!("cannot render the manual page: {e}"))?;
        pages.push((man.get_filename(), page));
    }
    // The main page first, then the commands in name order.
    if let Some((_, rest)) = pages.split_first_mut() {
        rest.sort_by(|a, b| a.0.cmp(&b.0));
    }
    Ok(pages)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_the_main_page_names_exists() {
        let pages = pages().unwrap();
        let names: Vec<&str> = pages.iter().map(|(n, _)| n.as_str()).collect();
        let main = String::from_utf8(pages[0].1.clone())
            .unwrap()
            .replace("\\-", "-");
        assert_eq!(names[0], "ssosync.1");
        let named: Vec<String> = main
            .split(char::is_whitespace)
            .filter_map(|w| w.strip_prefix("ssosync-"))
            .filter_map(|w| w.split_once("(1)"))
            .map(|(cmd, _)| format!("ssosync-{cmd}.1"))
            .collect();
        assert!(named.len() >= 10, "{named:?}");
        for page in &named {
            assert!(names.contains(&page.as_str()), "{page} missing: {names:?}");
        }
        assert!(!names.iter().any(|n| n.contains("help") || n.contains("__")));
    }
}
