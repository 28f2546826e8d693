mod architecture;
mod chains;
mod commands;
mod completion;
mod docs;
mod entry_properties;
mod errors;
mod files;
mod format;
mod hook;
mod hostile;
mod hygiene;
// botocore and the AWS CLI in a Python venv: a Linux Python, which the Windows
// build of the suite (run under Wine) cannot start.
#[cfg(unix)]
mod interop;
#[cfg(unix)]
mod interop_populate;
#[cfg(unix)]
mod interop_powershell;
#[cfg(unix)]
mod interop_sso;
mod login;
mod network;
mod populate;
mod properties;
// tinyproxy, the real proxy these tests start, is a Linux program: the Windows
// build under Wine cannot start it.
#[cfg(unix)]
mod proxy;
mod refresh;
mod reliability;
mod secrets;
mod sync;
mod tls;
// Windows' own proxy setting, in the registry: ignored in the suite, run alone
// under Wine by scripts/windows-check.sh (it is one setting for every process).
#[cfg(windows)]
mod windows_settings;
