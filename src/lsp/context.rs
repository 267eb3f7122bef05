//! Where in a file a position is: which block, and which words of the current statement come
//! before it. This reads the text itself, not the syntax tree, so that it works on the
//! half-written statement a user is typing.

/// The block a position is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Block {
    Top,
    Service,
    Timeouts,
    Defense,
    Sysctl,
    Sync,
    /// The block of a statement that is not known.
    Unknown,
}

/// What stands before a position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Context {
    pub block: Block,
    /// The whole words of the current statement before the position.
    pub words: Vec<String>,
    /// The word the position is at the end of (empty after a blank), and where it starts.
    pub prefix: String,
    pub prefix_start: usize,
    /// Whether the position is in a comment or a string, where nothing is offered.
    pub in_text: bool,
}

impl Context {
    pub fn first(&self) -> Option<&str> {
        self.words.first().map(String::as_str)
    }

    pub fn last(&self) -> Option<&str> {
        self.words.last().map(String::as_str)
    }
}

fn block_of(first_word: Option<&str>) -> Block {
    match first_word {
        Some("service") => Block::Service,
        Some("timeouts") => Block::Timeouts,
        Some("defense") => Block::Defense,
        Some("sysctl") => Block::Sysctl,
        Some("sync") => Block::Sync,
        _ => Block::Unknown,
    }
}

/// The context at byte `offset` of `text`.
pub fn at(text: &str, offset: usize) -> Context {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let text = &text[..offset];
    let bytes = text.as_bytes();
    let mut stack = vec![Block::Top];
    let mut words: Vec<(usize, usize)> = Vec::new();
    let mut word_start: Option<usize> = None;
    let mut in_text = false;
    let mut i = 0;
    let finish = |word_start: &mut Option<usize>, words: &mut Vec<(usize, usize)>, end: usize| {
        if let Some(start) = word_start.take() {
            words.push((start, end));
        }
    };
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                finish(&mut word_start, &mut words, i);
                match text[i..].find('\n') {
                    Some(n) => i += n,
                    None => {
                        in_text = true;
                        i = bytes.len();
                    }
                }
                continue;
            }
            b'"' => {
                finish(&mut word_start, &mut words, i);
                match text[i + 1..].find(['"', '\n']) {
                    Some(n) if bytes[i + 1 + n] == b'"' => i += n + 2,
                    Some(n) => i += n + 1,
                    None => {
                        in_text = true;
                        i = bytes.len();
                    }
                }
                // A string is a word of its statement (the path of an include).
                words.push((i, i));
                continue;
            }
            b'\\' if text[i + 1..].starts_with('\n') || text[i + 1..].starts_with("\r\n") => {
                finish(&mut word_start, &mut words, i);
                i += if bytes[i + 1] == b'\r' { 3 } else { 2 };
                continue;
            }
            b'\n' | b';' => {
                finish(&mut word_start, &mut words, i);
                words.clear();
            }
            b'{' => {
                finish(&mut word_start, &mut words, i);
                let first = words.first().map(|&(s, e)| &text[s..e]);
                stack.push(block_of(first));
                words.clear();
            }
            b'}' => {
                finish(&mut word_start, &mut words, i);
                if stack.len() > 1 {
                    stack.pop();
                }
                words.clear();
            }
            b' ' | b'\t' | b'\r' => finish(&mut word_start, &mut words, i),
            _ => {
                if word_start.is_none() {
                    word_start = Some(i);
                }
            }
        }
        i += 1;
    }
    let (prefix, prefix_start) = match word_start {
        Some(start) => (text[start..].to_string(), start),
        None => (String::new(), offset),
    };
    Context {
        block: *stack.last().expect("the top level stays"),
        words: words
            .into_iter()
            .map(|(s, e)| text[s..e].to_string())
            .collect(),
        prefix,
        prefix_start,
        in_text,
    }
}

/// The word at byte `offset` (touching it from either side): its start and end. A `$` before a
/// name belongs to the word.
pub fn word_at(text: &str, offset: usize) -> Option<(usize, usize)> {
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    if text[offset..].starts_with('$') {
        offset += 1;
    }
    let start = text[..offset]
        .char_indices()
        .rev()
        .take_while(|&(_, c)| is_word(c))
        .last()
        .map_or(offset, |(i, _)| i);
    let end = text[offset..]
        .char_indices()
        .find(|&(_, c)| !is_word(c))
        .map_or(text.len(), |(i, _)| offset + i);
    let start = if text[..start].ends_with('$') {
        start - 1
    } else {
        start
    };
    (start < end && text[start..end] != *"$").then_some((start, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(marked: &str) -> Context {
        let at_cursor = marked.find('|').expect("a cursor");
        let text = marked.replacen('|', "", 1);
        at(&text, at_cursor)
    }

    #[test]
    fn knows_the_block_and_the_words_before() {
        let c = context("define a = 1\nserv|");
        assert_eq!(
            (c.block, c.words.len(), c.prefix.as_str()),
            (Block::Top, 0, "serv")
        );
        let c = context("service tcp 1.2.3.4:80 {\n    |\n}");
        assert_eq!((c.block, c.words.len()), (Block::Service, 0));
        let c = context("service tcp 1.2.3.4:80 { scheduler |");
        assert_eq!(
            (c.block, c.words.clone()),
            (Block::Service, vec!["scheduler".into()])
        );
        let c = context("service tcp 1.2.3.4:80 { server 10.0.0.1 weight 2 forward tun|");
        assert_eq!(c.words.len(), 5);
        assert_eq!((c.prefix.as_str(), c.prefix_start), ("tun", 58));
        let c = context("service tcp 1.2.3.4:80 { scheduler rr }\n|");
        assert_eq!(c.block, Block::Top);
        let c = context("sysctl {\n  sync_threshold 3 \\\n 5|");
        assert_eq!((c.block, c.words.len()), (Block::Sysctl, 2));
        let c = context("defense { drop_entry auto; am|");
        assert_eq!(
            (c.block, c.words.len(), c.prefix.as_str()),
            (Block::Defense, 0, "am")
        );
    }

    #[test]
    fn skips_comments_and_strings() {
        let c = context("# service tcp {\ninclude \"a{b.ipvs\"; |");
        assert_eq!((c.block, c.words.len()), (Block::Top, 0));
        assert!(context("service tcp 1.2.3.4:80 { # sched|").in_text);
        assert!(context("include \"com|").in_text);
    }

    #[test]
    fn finds_the_word_at_a_position() {
        let text = "server $web weight 3; one-packet";
        assert_eq!(word_at(text, 9), Some((7, 11)));
        assert_eq!(word_at(text, 7), Some((7, 11)));
        assert_eq!(word_at(text, 11), Some((7, 11)));
        assert_eq!(word_at(text, 25), Some((22, 32)));
        assert_eq!(word_at(text, 21), None);
    }
}
