mod architecture;
mod chains;
mod commands;
mod entry_properties;
mod errors;
mod files;
mod format;
mod hostile;
// botocore and the AWS CLI in a Python venv: a Linux Python, which the Windows
// build of the suite (run under Wine) cannot start.
#[cfg(unix)]
mod interop;
#[cfg(unix)]
mod interop_sso;
mod login;
mod network;
mod properties;
mod refresh;
mod reliability;
mod secrets;
mod sync;
