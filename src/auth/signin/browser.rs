//! Opening the sign-in page in the user's browser: `$BROWSER`, else the
//! desktop's opener. The URL is always one argument, never parsed by a shell.

use crate::config::environment::Environment;

/// Opens `url` with `$BROWSER` (a command; the URL is its one argument), else
/// the desktop's opener. The URL was printed already, so a failure only says so.
pub fn open(env: &Environment, url: &str) {
    let default = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    let program = env.var("BROWSER").unwrap_or(default).to_string();
    let child = std::process::Command::new(&program)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    match child {
        // Not waited for here: the browser may need our listener to finish.
        Ok(mut child) => {
            std::thread::spawn(move || {
                if let Ok(status) = child.wait()
                    && !status.success()
                {
                    eprintln!(
                        "ssosync: `{program}` could not open a browser ({status}); open the URL above yourself"
                    );
                }
            });
        }
        Err(e) => eprintln!(
            "ssosync: cannot start `{program}` to open a browser ({e}); open the URL above yourself"
        ),
    }
}
