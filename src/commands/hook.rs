//! `ssosync hook SHELL`: a prompt hook that keeps entries fresh and never
//! stalls the prompt. At most once per interval it runs `ssosync prompt`, the
//! no-network check that starts a detached background sync when one is needed
//! (see `commands::prompt`); at any prompt, when a notice is waiting, it runs
//! `ssosync prompt --show`, which prints it once. A prompt with nothing to do
//! costs one file test.
//!
//! The bash snippet uses only what bash 3.2 (macOS's) has: `$EPOCHSECONDS`
//! when set (bash 5), else `date +%s`; `[ ]` and `$(( ))`, no `printf -v`,
//! `[[ -v ]]`, `${x,,}` or arrays.
//!
//! The PowerShell snippet wraps the `prompt` function there is (once, however
//! often it is loaded), calls it first so that it sees the user's `$?`, and
//! puts `$LASTEXITCODE` back after ssosync ran. Only what Windows PowerShell 5.1
//! and PowerShell 7 on every platform both have.

use std::time::Duration;

use crate::cli::{HookArgs, HookShell};
use crate::commands::prompt::PromptFiles;
use crate::config::environment::Environment;
use crate::exit::{Exit, Fatal};
use crate::quote;

pub fn run(args: &HookArgs, env: &Environment) -> Result<Exit, Fatal> {
    let files = PromptFiles::new(env)?;
    let notice = files.notice.to_string_lossy();
    print!(
        "{}",
        snippet(args.shell, args.interval, args.timeout, &notice)
    );
    Ok(Exit::Ok)
}

pub fn snippet(shell: HookShell, interval: Duration, timeout: Duration, notice: &str) -> String {
    let every = interval.as_secs();
    let timeout = format!("{}s", timeout.as_secs());
    match shell {
        HookShell::Bash => format!(
            r#"# ssosync prompt hook (bash): keeps SSO credentials fresh without stalling the
# prompt. At most every {every}s a check that needs no network; a sync that needs it
# runs in the background, and what you must do shows once at a later prompt.
__ssosync_notice={notice}
__ssosync_hook() {{
  local status=$? now="${{EPOCHSECONDS:-}}"
  if [ -e "$__ssosync_notice" ]; then
    command ssosync prompt --show
  fi
  if [ -z "$now" ]; then
    now=$(date +%s)
  fi
  if [ $((now - ${{__SSOSYNC_LAST:-0}})) -ge {every} ]; then
    __SSOSYNC_LAST=$now
    command ssosync prompt --timeout {timeout}
  fi
  return $status
}}
case ";${{PROMPT_COMMAND:-}};" in
  *";__ssosync_hook;"*) ;;
  *) PROMPT_COMMAND="__ssosync_hook${{PROMPT_COMMAND:+;$PROMPT_COMMAND}}" ;;
esac
"#,
            notice = quote::posix(notice)
        ),
        HookShell::Zsh => format!(
            r#"# ssosync prompt hook (zsh): keeps SSO credentials fresh without stalling the
# prompt. At most every {every}s a check that needs no network; a sync that needs it
# runs in the background, and what you must do shows once at a later prompt.
zmodload zsh/datetime
typeset -g __ssosync_notice={notice}
__ssosync_hook() {{
  if [[ -e $__ssosync_notice ]]; then
    command ssosync prompt --show
  fi
  if (( EPOCHSECONDS - ${{__SSOSYNC_LAST:-0}} >= {every} )); then
    typeset -g __SSOSYNC_LAST=$EPOCHSECONDS
    command ssosync prompt --timeout {timeout}
  fi
}}
autoload -Uz add-zsh-hook
add-zsh-hook precmd __ssosync_hook
"#,
            notice = quote::posix(notice)
        ),
        HookShell::Fish => format!(
            r#"# ssosync prompt hook (fish): keeps SSO credentials fresh without stalling the
# prompt. At most every {every}s a check that needs no network; a sync that needs it
# runs in the background, and what you must do shows once at a later prompt.
set -g __ssosync_notice {notice}
function __ssosync_hook --on-event fish_prompt
    if test -e $__ssosync_notice
        command ssosync prompt --show
    end
    set -l now (date +%s)
    set -q __ssosync_last; or set -g __ssosync_last 0
    if test (math $now - $__ssosync_last) -ge {every}
        set -g __ssosync_last $now
        command ssosync prompt --timeout {timeout}
    end
end
"#,
            notice = quote::fish(notice)
        ),
        HookShell::Powershell => format!(
            r#"# ssosync prompt hook (PowerShell): keeps SSO credentials fresh without stalling
# the prompt. At most every {every}s a check that needs no network; a sync that needs
# it runs in the background, and what you must do shows once at a later prompt.
$global:__ssosync_notice = {notice}
$global:__ssosync_exe = Get-Command -Name ssosync -CommandType Application -ErrorAction SilentlyContinue |
    Select-Object -First 1 -ExpandProperty Source
if (-not (Test-Path -LiteralPath Variable:global:__ssosync_inner)) {{
    $global:__ssosync_inner = $function:prompt
    $global:__ssosync_last = [long]0
}}
function global:prompt {{
    $text = if ($global:__ssosync_inner) {{ & $global:__ssosync_inner }} else {{ 'PS> ' }}
    $code = $global:LASTEXITCODE
    if ($global:__ssosync_exe) {{
        if (Test-Path -LiteralPath $global:__ssosync_notice) {{
            $null = & $global:__ssosync_exe prompt --show
        }}
        $now = [DateTimeOffset]::UtcNow.ToUnixTimeSeconds()
        if ($now - $global:__ssosync_last -ge {every}) {{
            $global:__ssosync_last = $now
            $null = & $global:__ssosync_exe prompt --timeout {timeout}
        }}
    }}
    $global:LASTEXITCODE = $code
    $text
}}
"#,
            notice = quote::powershell(notice)
        ),
    }
}
