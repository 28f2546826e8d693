//! Quoting a word for the shells ssosync prints code for (`export`, `hook`):
//! single quotes in each, so nothing inside is expanded.

/// POSIX sh, bash and zsh: `'` is written as `'\''`.
pub fn posix(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// fish: `\\` and `\'` are the only escapes inside single quotes.
pub fn fish(text: &str) -> String {
    format!("'{}'", text.replace('\\', r"\\").replace('\'', r"\'"))
}

/// PowerShell: a quote is doubled. PowerShell also takes the typographic single
/// quotes (U+2018 to U+201B) as quotes, so they are doubled too.
pub fn powershell(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('\'');
    for c in text.chars() {
        if matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201a}' | '\u{201b}') {
            quoted.push(c);
        }
        quoted.push(c);
    }
    quoted.push('\'');
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_shell_keeps_its_quotes_closed() {
        assert_eq!(posix("/h/it's/x"), r"'/h/it'\''s/x'");
        assert_eq!(fish(r"/h/it's\x"), r"'/h/it\'s\\x'");
        assert_eq!(
            powershell("C:\\Users\\o'brien\u{2019}s\\$x"),
            "'C:\\Users\\o''brien\u{2019}\u{2019}s\\$x'"
        );
    }
}
