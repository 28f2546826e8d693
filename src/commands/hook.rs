//! `ssosync hook SHELL`: a prompt hook that runs the quiet sync at most once per
//! interval. The sync's no-op path reads two small files and exits, so the hook
//! costs a few milliseconds when nothing needs doing.

use crate::cli::{HookArgs, HookShell};
use crate::exit::Exit;

pub fn run(args: &HookArgs) -> Exit {
    print!("{}", snippet(args.shell, args.interval));
    Exit::Ok
}

pub fn snippet(shell: HookShell, interval: u32) -> String {
    match shell {
        HookShell::Bash => format!(
            r#"# ssosync prompt hook (bash): keep SSO credentials fresh, at most every {interval}s.
__ssosync_hook() {{
  local now
  printf -v now '%(%s)T' -1
  if (( now - ${{__SSOSYNC_LAST:-0}} >= {interval} )); then
    __SSOSYNC_LAST=$now
    command ssosync -q --timeout 5s
  fi
}}
case ";${{PROMPT_COMMAND:-}};" in
  *";__ssosync_hook;"*) ;;
  *) PROMPT_COMMAND="__ssosync_hook${{PROMPT_COMMAND:+;$PROMPT_COMMAND}}" ;;
esac
"#
        ),
        HookShell::Zsh => format!(
            r#"# ssosync prompt hook (zsh): keep SSO credentials fresh, at most every {interval}s.
zmodload zsh/datetime
__ssosync_hook() {{
  if (( EPOCHSECONDS - ${{__SSOSYNC_LAST:-0}} >= {interval} )); then
    __SSOSYNC_LAST=$EPOCHSECONDS
    command ssosync -q --timeout 5s
  fi
}}
autoload -Uz add-zsh-hook
add-zsh-hook precmd __ssosync_hook
"#
        ),
        HookShell::Fish => format!(
            r#"# ssosync prompt hook (fish): keep SSO credentials fresh, at most every {interval}s.
function __ssosync_hook --on-event fish_prompt
    set -l now (date +%s)
    if test (math $now - (set -q __ssosync_last; and echo $__ssosync_last; or echo 0)) -ge {interval}
        set -g __ssosync_last $now
        command ssosync -q --timeout 5s
    end
end
"#
        ),
    }
}
