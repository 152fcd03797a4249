//! Secret scrubbing: every line that reaches a log, a message or an error passes through a
//! [`Scrubber`] that replaces known secrets with `******`.

/// Replaces known secrets in text. Cheap to clone and share.
#[derive(Debug, Clone, Default)]
pub struct Scrubber {
    /// Longest first, so that a secret containing another one is replaced whole.
    secrets: Vec<String>,
}

/// What a secret is replaced with.
pub const MASK: &str = "******";

impl Scrubber {
    /// A scrubber for these secrets. Empty strings and strings shorter than 3 characters are
    /// ignored (masking every `a` would make logs useless without protecting anything).
    pub fn new<I, S>(secrets: I) -> Scrubber
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut s = Scrubber::default();
        for x in secrets {
            s.add(x.as_ref());
        }
        s
    }

    /// Adds one more secret; multi-line secrets (private keys) are masked line by line too.
    pub fn add(&mut self, secret: &str) {
        let mut push = |x: &str| {
            let x = x.trim_end_matches(['\r', '\n']);
            if x.chars().count() >= 3 && !self.secrets.iter().any(|s| s == x) {
                self.secrets.push(x.to_string());
            }
        };
        push(secret);
        if secret.contains('\n') {
            for line in secret.lines().map(str::trim) {
                if !line.starts_with("-----") {
                    push(line);
                }
            }
        }
        self.secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    }

    /// `text` with every secret replaced by [`MASK`].
    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.to_string();
        for s in &self.secrets {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), MASK);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_every_secret_longest_first() {
        let s = Scrubber::new(["abc", "abcdef", "", "x"]);
        assert_eq!(
            s.scrub("pw=abcdef and abc, x stays"),
            "pw=****** and ******, x stays"
        );
    }

    #[test]
    fn masks_private_key_lines() {
        let key = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\nqwertyuiop\n-----END RSA PRIVATE KEY-----\n";
        let s = Scrubber::new([key]);
        assert_eq!(s.scrub("got qwertyuiop"), "got ******");
        assert_eq!(
            s.scrub("-----BEGIN RSA PRIVATE KEY-----"),
            "-----BEGIN RSA PRIVATE KEY-----"
        );
    }
}
