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

/// PowerShell, in ASCII alone: a string expression whose non-ASCII characters
/// are `[char]0x…` (one per UTF-16 unit), for code that PowerShell may read in
/// another encoding than UTF-8 (`… | Invoke-Expression` uses the console's).
pub fn powershell_ascii(text: &str) -> String {
    if text.is_ascii() {
        return powershell(text);
    }
    let mut parts: Vec<String> = Vec::new();
    let mut run = String::new();
    for c in text.chars() {
        if c.is_ascii() {
            run.push(c);
            continue;
        }
        if !run.is_empty() {
            parts.push(powershell(&std::mem::take(&mut run)));
        }
        let mut units = [0u16; 2];
        for unit in c.encode_utf16(&mut units) {
            parts.push(format!("[char]0x{unit:04X}"));
        }
    }
    if !run.is_empty() {
        parts.push(powershell(&run));
    }
    // `'' +` first: the sum is then a string, whatever the first part is.
    format!("('' + {})", parts.join(" + "))
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
        assert_eq!(powershell_ascii("C:\\it's"), "'C:\\it''s'");
        assert_eq!(
            powershell_ascii("C:\\J\u{fc}rgen\u{2019}s\\\u{1f600}"),
            "('' + 'C:\\J' + [char]0x00FC + 'rgen' + [char]0x2019 + 's\\' + [char]0xD83D + [char]0xDE00)"
        );
    }
}
