//! The PowerShell that ssosync prints (`hook powershell`, `export --format
//! powershell`), parsed by tree-sitter's PowerShell grammar from PyPI, in the
//! interop venv: no PowerShell is packaged here to run it. What the hook runs,
//! `ssosync prompt`, is tested on every platform in `hook.rs`.

use crate::common::{Home, Run};
use crate::suite::interop::python_tools;

/// dev and prod of one session only: every profile can be synced.
const SMALL_CONFIG: &str = "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\n\
[profile dev]\nsso_session = corp\nsso_account_id = 111111111111\nsso_role_name = Dev\n\
[profile prod]\nsso_session = corp\nsso_account_id = 222222222222\nsso_role_name = Admin\n";

/// PowerShell's syntax errors and missing tokens in `script`, as tree-sitter's
/// PowerShell grammar finds them (the script goes on stdin).
fn powershell_syntax_errors(home: &Home, script: &str) -> Vec<String> {
    let python = python_tools().join("python");
    let (code, stdout, stderr) =
        home.shell(python.to_str().unwrap(), &["-c", PARSE_POWERSHELL], script);
    assert_eq!(code, 0, "{stderr}");
    serde_json::from_str(&stdout).unwrap()
}

/// Parses stdin with tree-sitter's PowerShell grammar; prints its ERROR and
/// MISSING nodes as a JSON list.
const PARSE_POWERSHELL: &str = "import json, sys, tree_sitter, tree_sitter_powershell as g\n\
src = sys.stdin.buffer.read()\n\
tree = tree_sitter.Parser(tree_sitter.Language(g.language())).parse(src)\n\
bad = []\n\
def walk(n):\n\
\x20   if n.is_error or n.is_missing:\n\
\x20       bad.append('line %d: %s %r' % (n.start_point[0] + 1, n.type, src[n.start_byte:n.end_byte][:60]))\n\
\x20   for c in n.children: walk(c)\n\
walk(tree.root_node)\n\
print(json.dumps(bad))\n";

/// The PowerShell hook parses (as do `export --format powershell`'s lines, with
/// a home whose path has a quote in it), wraps the prompt once, and runs only
/// the two `ssosync prompt` calls of the design.
#[test]
fn the_powershell_hook_parses_and_runs_only_the_prompt_check() {
    let home = Home::new();
    home.write(".aws/config", SMALL_CONFIG);
    // The check can fail: an unclosed brace and a bad quote are found.
    assert_eq!(
        powershell_syntax_errors(&home, "function global:prompt { if ($x -ge 2 { 'a' } }\n").len(),
        2
    );
    assert!(!powershell_syntax_errors(&home, "$a = 'it's'\n").is_empty());

    for args in [
        &["hook", "powershell"][..],
        &["hook", "pwsh", "--interval", "0", "--timeout", "2s"],
    ] {
        let mut cmd = home.command(args);
        cmd.env(
            "AWS_SHARED_CREDENTIALS_FILE",
            home.path("o'brien\u{2019}s-j\u{fc}rgen/credentials"),
        );
        let run = Run::from(cmd.output().unwrap());
        assert_eq!(run.code, 0, "{run:?}");
        assert_eq!(
            powershell_syntax_errors(&home, &run.stdout),
            Vec::<String>::new(),
            "{}",
            run.stdout
        );
        assert!(
            run.stdout
                .contains("/o''brien' + [char]0x2019 + 's-j' + [char]0x00FC + 'rgen/"),
            "{}",
            run.stdout
        );
        let calls: Vec<&str> = run
            .stdout
            .lines()
            .filter(|l| l.contains("& $global:__ssosync_exe"))
            .map(str::trim)
            .collect();
        let timeout = args
            .last()
            .filter(|a| a.ends_with('s'))
            .copied()
            .unwrap_or("5s");
        assert_eq!(
            calls,
            [
                "& $global:__ssosync_exe prompt --show 2>&1 | ForEach-Object { Write-Host \"$_\" }"
                    .to_string(),
                format!(
                    "& $global:__ssosync_exe prompt --timeout {timeout} 2>&1 | ForEach-Object {{ Write-Host \"$_\" }}"
                ),
            ],
            "{}",
            run.stdout
        );
        // Loaded again, it wraps the prompt there is then, never its own wrapper.
        assert!(
            run.stdout
                .contains("if (\"$function:prompt\" -notlike '*__ssosync_wrapped*') {"),
            "{}",
            run.stdout
        );
        assert!(run.stdout.is_ascii(), "{}", run.stdout);
    }
    assert_eq!(home.run(&["-q"]).code, 0);
    let export = home.run(&["export", "-p", "dev", "--format", "powershell"]);
    assert_eq!(export.code, 0, "{export:?}");
    assert_eq!(
        powershell_syntax_errors(&home, &export.stdout),
        Vec::<String>::new()
    );
}
