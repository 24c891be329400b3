//! Quoting a command line for the shell the operator will paste it into: POSIX sh on Unix,
//! PowerShell on Windows (chosen by `cfg!(windows)`; both quoters are compiled and tested on
//! every platform). Also the advice that goes with a resume command whose input was stdin.
//! Pure text: depends on nothing.

/// Quotes `word` for the platform's shell.
#[must_use]
pub fn for_shell(word: &str) -> String {
    if cfg!(windows) {
        powershell(word)
    } else {
        posix(word)
    }
}

/// Quotes `word` for a POSIX shell: bare when it holds only characters no shell treats
/// specially, else in single quotes (inside which nothing is special), a `'` written `'\''`.
#[must_use]
pub fn posix(word: &str) -> String {
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:@,+".contains(c))
    {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// Quotes `word` for PowerShell: bare when it holds only characters PowerShell passes as they
/// are (not `@` or `,`, which splat or build arrays; not `$` or a backtick, which expand), else
/// in single quotes, inside which only a quote is special and is doubled. PowerShell also
/// takes the typographic single quotes as quotes, so those are doubled too.
#[must_use]
pub fn powershell(word: &str) -> String {
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=\\".contains(c))
    {
        return word.to_owned();
    }
    let mut quoted = String::with_capacity(word.len() + 2);
    quoted.push('\'');
    for c in word.chars() {
        if matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}') {
            quoted.push(c);
        }
        quoted.push(c);
    }
    quoted.push('\'');
    quoted
}

/// What to tell the operator to run to continue: the command itself, or, when its input was
/// stdin (`-`), the command with the reminder that the same input must be piped in again.
#[must_use]
pub fn resume_advice(command: &str) -> String {
    if reads_stdin(command) {
        format!("pipe the same input into it again: ... | {command}")
    } else {
        command.to_owned()
    }
}

/// Whether a command quoted by [`posix`] or [`powershell`] has a bare `-` word (stdin as the
/// input). Words inside quotes never count, so a note like `'CHG - 1'` is not mistaken for it.
fn reads_stdin(command: &str) -> bool {
    let mut in_quotes = false;
    let mut escaped = false;
    let mut word = String::new();
    let mut found = false;
    for c in command.chars().chain(std::iter::once(' ')) {
        if escaped {
            escaped = false;
            word.push(c);
        } else if c == '\'' {
            in_quotes = !in_quotes;
            word.push(c);
        } else if c == '\\' && !in_quotes && !cfg!(windows) {
            escaped = true;
            word.push(c);
        } else if c == ' ' && !in_quotes {
            found |= word == "-";
            word.clear();
        } else {
            word.push(c);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn posix_quoting_leaves_plain_words_and_single_quotes_the_rest() {
        assert_eq!(posix("ids.csv"), "ids.csv");
        assert_eq!(posix("--rate=5"), "--rate=5");
        assert_eq!(posix("my ids.csv"), "'my ids.csv'");
        assert_eq!(posix("it's"), r"'it'\''s'");
        assert_eq!(posix("$HOME;rm -rf /"), "'$HOME;rm -rf /'");
        assert_eq!(posix(""), "''");
        assert_eq!(posix("-"), "-");
    }

    #[test]
    fn powershell_quoting_doubles_quotes_and_guards_splat_and_expansion() {
        assert_eq!(powershell("ids.csv"), "ids.csv");
        assert_eq!(powershell(r"C:\data\ids.csv"), r"C:\data\ids.csv");
        assert_eq!(powershell("my ids.csv"), "'my ids.csv'");
        assert_eq!(powershell("it's"), "'it''s'");
        assert_eq!(powershell("it\u{2019}s"), "'it\u{2019}\u{2019}s'");
        assert_eq!(powershell("$env:USERNAME"), "'$env:USERNAME'");
        assert_eq!(powershell("a`b"), "'a`b'");
        assert_eq!(powershell("@args"), "'@args'");
        assert_eq!(powershell("a,b"), "'a,b'");
        assert_eq!(powershell(""), "''");
        assert_eq!(powershell("-"), "-");
    }

    #[test]
    fn the_platform_quoter_is_powershell_on_windows_and_posix_elsewhere() {
        let expected = if cfg!(windows) {
            "'it''s'"
        } else {
            r"'it'\''s'"
        };
        assert_eq!(for_shell("it's"), expected);
    }

    #[test]
    fn a_resume_command_reading_stdin_says_to_pipe_the_same_input_again() {
        let advice = resume_advice("credbulk enable - --resume");
        assert!(advice.contains("pipe the same input"), "{advice}");
        assert!(advice.ends_with("| credbulk enable - --resume"), "{advice}");
        assert_eq!(
            resume_advice("credbulk enable ids.csv --note 'CHG - 1' --resume"),
            "credbulk enable ids.csv --note 'CHG - 1' --resume",
            "a dash inside quotes is not stdin"
        );
        assert_eq!(
            resume_advice("credbulk enable ids.csv --resume"),
            "credbulk enable ids.csv --resume"
        );
    }
}
