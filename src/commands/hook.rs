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
//! The PowerShell snippet wraps the `prompt` function there is (loaded again,
//! it wraps the prompt there is then, never its own wrapper), calls it first so
//! that it sees the user's `$?`, and puts `$LASTEXITCODE` back after ssosync
//! ran. PowerShell captures a native command's stderr inside a prompt, so the
//! notices go through `Write-Host`. Its paths are ASCII-only PowerShell
//! (`[char]0x00FC` for `ü`): `Invoke-Expression` reads the snippet in the
//! console's code page. Only what Windows PowerShell 5.1 (on .NET 4.5) and
//! PowerShell 7 on every platform both have.

use std::time::Duration;

use crate::cli::{HookArgs, HookShell};
use crate::commands::prompt::PromptFiles;
use crate::config::environment::Environment;
use crate::exit::{Exit, Fatal};
use crate::quote;

pub fn run(args: &HookArgs, env: &Environment) -> Result<Exit, Fatal> {
    let files = PromptFiles::new(env)?;
    let notice = files.notice.to_string_lossy();
    // PowerShell falls back to this binary when no `ssosync` is on PATH.
    let exe = std::env::current_exe()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|_| "ssosync".into());
    print!(
        "{}",
        snippet(args.shell, args.interval, args.timeout, &notice, &exe)
    );
    Ok(Exit::Ok)
}

pub fn snippet(
    shell: HookShell,
    interval: Duration,
    timeout: Duration,
    notice: &str,
    exe: &str,
) -> String {
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
    Select-Object -First 1 -ExpandProperty Path
if (-not $global:__ssosync_exe) {{ $global:__ssosync_exe = {exe} }}
if ("$function:prompt" -notlike '*__ssosync_wrapped*') {{
    $global:__ssosync_inner = $function:prompt
}}
if (-not $global:__ssosync_inner) {{
    $global:__ssosync_inner = {{ "PS $($executionContext.SessionState.Path.CurrentLocation)$('>' * ($nestedPromptLevel + 1)) " }}
}}
if ($null -eq $global:__ssosync_last) {{ $global:__ssosync_last = [long]0 }}
function global:prompt {{
    # __ssosync_wrapped: the prompt that was there runs first, as it would have.
    $text = & $global:__ssosync_inner
    $code = $global:LASTEXITCODE
    # ssosync's notices are on stderr, which PowerShell captures inside a prompt.
    $ErrorActionPreference = 'Continue'
    if (Test-Path -LiteralPath $global:__ssosync_notice) {{
        & $global:__ssosync_exe prompt --show 2>&1 | ForEach-Object {{ Write-Host "$_" }}
    }}
    $now = [long]([DateTime]::UtcNow.Ticks / 10000000)
    if ($now - $global:__ssosync_last -ge {every}) {{
        $global:__ssosync_last = $now
        & $global:__ssosync_exe prompt --timeout {timeout} 2>&1 | ForEach-Object {{ Write-Host "$_" }}
    }}
    $global:LASTEXITCODE = $code
    $text
}}
"#,
            notice = quote::powershell_ascii(notice),
            exe = quote::powershell_ascii(exe)
        ),
    }
}
