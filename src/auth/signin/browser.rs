//! Opening the sign-in page in the user's browser: `$BROWSER`, else the
//! desktop's opener. The URL is always one argument, never parsed by a shell.

use crate::config::environment::Environment;

/// Opens `url` with `$BROWSER` (a command; the URL is its one argument), else
/// the desktop's opener (the `open` crate: xdg-open and its fallbacks, WSL's
/// Windows side, macOS `open`, on Windows PowerShell's Start-Process with the URL
/// in an environment variable, then explorer.exe). The URL was printed already,
/// so a failure only says so.
pub fn open(env: &Environment, url: &str) {
    let url = url.to_string();
    let Some(program) = env.var("BROWSER").map(str::to_string) else {
        // In the background: a launcher may take a moment, and the sign-in waits anyway.
        std::thread::spawn(move || {
            if let Err(e) = open::that_detached(&url) {
                // The crate's own messages repeat the whole URL, printed already.
                let why = match (e.raw_os_error(), e.kind()) {
                    (Some(_), _) => e.to_string(),
                    (None, std::io::ErrorKind::NotFound) => {
                        "no opener such as xdg-open is installed".to_string()
                    }
                    (None, _) => "the desktop's opener failed".to_string(),
                };
                eprintln!(
                    "ssosync: cannot open a browser ({why}); set BROWSER, or open the URL above yourself"
                );
            }
        });
        return;
    };
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
