//! The `{{ ... }}` scanner shared by the parameter pre-pass and the token expander.
//!
//! Tags nest: in `{{ {{ parameter.loc }}::node.ipv6 }}` the inner tag is resolved first and its value
//! becomes part of the outer tag's text. A tag the callback declines stays as written. An unmatched
//! `{{` or `}}` is plain text.

/// Rewrites every `{{ tag }}` of `text`, innermost first.
///
/// `resolve(token, offset)` gets the tag's text trimmed of spaces, tabs, newlines and backslashes (as the
/// original did) and the byte offset of its `{{` in `text`; it returns `Some(value)` to replace the tag,
/// `None` to keep it as written, or an error that stops the scan.
pub fn rewrite<E>(
    text: &str,
    mut resolve: impl FnMut(&str, usize) -> Result<Option<String>, E>,
) -> Result<String, E> {
    if !text.contains("{{") {
        return Ok(text.to_string());
    }
    let bytes = text.as_bytes();
    let mut root = String::with_capacity(text.len());
    let mut stack: Vec<(usize, String)> = Vec::new();
    let mut i = 0;
    let mut plain_start = 0;
    while i < bytes.len() {
        let two = bytes.get(i..i + 2);
        if two == Some(b"{{") || (two == Some(b"}}") && !stack.is_empty()) {
            let top = match stack.last_mut() {
                Some((_, buf)) => buf,
                None => &mut root,
            };
            top.push_str(&text[plain_start..i]);
            if two == Some(b"{{") {
                stack.push((i, String::new()));
            } else {
                let (start, inner) = stack.pop().expect("stack is not empty");
                let token = inner.trim_matches(|c: char| c.is_whitespace() || c == '\\');
                let out = match resolve(token, start)? {
                    Some(value) => value,
                    None => format!("{{{{{inner}}}}}"),
                };
                match stack.last_mut() {
                    Some((_, buf)) => buf.push_str(&out),
                    None => root.push_str(&out),
                }
            }
            i += 2;
            plain_start = i;
        } else {
            i += 1;
        }
    }
    let rest = &text[plain_start..];
    match stack.last_mut() {
        Some((_, buf)) => buf.push_str(rest),
        None => root.push_str(rest),
    }
    // unclosed tags are plain text (outermost first; linear even for thousands of them)
    for (_, buf) in stack {
        root.push_str("{{");
        root.push_str(&buf);
    }
    Ok(root)
}

/// Lists the tags of `text` (outermost tags, with inner tags left in their text) and their offsets.
pub fn tags(text: &str) -> Vec<(String, usize)> {
    let mut found = Vec::new();
    let _ = rewrite::<()>(text, |token, offset| {
        found.push((token.to_string(), offset));
        Ok(None)
    });
    found
}

/// Maps byte offsets of a text to 1-based line and column numbers.
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    /// Indexes `text`.
    pub fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { starts }
    }

    /// The 1-based (line, column) of a byte offset.
    pub fn position(&self, offset: usize) -> (usize, usize) {
        let line = self.starts.partition_point(|&s| s <= offset);
        (line, offset - self.starts[line - 1] + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(token: &str) -> Option<String> {
        match token {
            "parameter.loc" => Some("EU6".into()),
            "parameter.name" => Some("queen".into()),
            _ => None,
        }
    }

    #[test]
    fn nested_tags_resolve_inside_out() {
        let out = rewrite::<()>(
            "a {{ {{ parameter.loc }}::{{ parameter.name }}.ipv6 }} b",
            |t, _| Ok(params(t)),
        );
        assert_eq!(out.unwrap(), "a {{ EU6::queen.ipv6 }} b");
    }

    #[test]
    fn declined_and_unmatched_tags_stay() {
        let out = rewrite::<()>("x }} {{ node.public }} {{ parameter.loc }} {{ y", |t, _| {
            Ok(params(t))
        });
        assert_eq!(out.unwrap(), "x }} {{ node.public }} EU6 {{ y");
    }

    #[test]
    fn offsets_and_lines() {
        let text = "ab\ncd {{ x }}\n";
        let found = tags(text);
        assert_eq!(found, vec![("x".to_string(), 6)]);
        assert_eq!(LineIndex::new(text).position(6), (2, 4));
        assert_eq!(LineIndex::new(text).position(0), (1, 1));
    }

    #[test]
    fn many_unclosed_tags_stay_as_written() {
        let text = format!("x {} y {{{{ a }}}}", "{{ b ".repeat(50_000));
        let out = rewrite::<()>(&text, |_, _| Ok(None)).unwrap();
        assert_eq!(out, text);
    }
}
