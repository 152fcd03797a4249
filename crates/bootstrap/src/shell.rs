//! Shell quoting: every value from a plan that lands in a generated script goes through [`quote`].

/// Quotes `s` as one word for POSIX shells (bash, dash): single quotes, with every embedded `'`
/// written as `'\''`. Newlines, `$()`, backquotes and globs stay literal. Plain words that need no
/// quoting are returned unchanged so scripts stay readable.
pub fn quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'-' | b'_' | b'.' | b'/' | b':' | b'=' | b'@' | b',' | b'+'
                )
        });
    if plain {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

/// Quotes each word and joins them with spaces, ready to be a command's argument list.
pub fn quote_words<S: AsRef<str>>(words: &[S]) -> String {
    words
        .iter()
        .map(|w| quote(w.as_ref()))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// Runs `printf %s <quoted>` through bash and returns what bash saw.
    fn through_bash(s: &str) -> String {
        let out = Command::new("bash")
            .arg("-c")
            .arg(format!("printf %s {}", quote(s)))
            .output()
            .expect("bash runs");
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    }

    #[test]
    fn hostile_strings_survive_bash() {
        for s in [
            "",
            "plain",
            "it's",
            "'",
            "''",
            "$(touch /tmp/pwned)",
            "`id`",
            "a\nb\n",
            "tab\there",
            "*?[x]",
            "\\'\\",
            "$HOME ${X:-y} !event",
            "ünïcödé ✓",
            "-n",
        ] {
            assert_eq!(through_bash(s), s, "round trip of {s:?}");
        }
    }

    #[test]
    fn plain_words_stay_readable() {
        assert_eq!(quote("/etc/redis/redis.conf"), "/etc/redis/redis.conf");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote(""), "''");
        assert_eq!(quote_words(&["echo", "x y"]), "echo 'x y'");
    }
}
