//! Byte offsets to LSP positions and back. LSP counts a line's characters in UTF-16 code units
//! (a character outside the Basic Multilingual Plane counts two); the compiler's spans are byte
//! offsets into UTF-8 text.

use lsp_types::{Position, Range};

/// Where each line of a text starts. Lines end at `\n`; a `\r` before it belongs to no column.
pub struct LineIndex<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub fn new(text: &'a str) -> LineIndex<'a> {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        LineIndex { text, starts }
    }

    /// The position of a byte offset; an offset past the end, or inside a character, is moved
    /// back to the nearest character boundary.
    pub fn position(&self, offset: usize) -> Position {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.starts.partition_point(|&s| s <= offset) - 1;
        let start = self.starts[line];
        let character: usize = self.text[start..offset].chars().map(char::len_utf16).sum();
        Position::new(line as u32, character as u32)
    }

    pub fn range(&self, start: usize, end: usize) -> Range {
        Range::new(self.position(start), self.position(end))
    }

    /// The byte offset of a position. A line past the last is the end of the text; a character
    /// past the end of its line is the end of the line; one in the middle of a surrogate pair is
    /// the start of that character.
    pub fn offset(&self, position: Position) -> usize {
        let Some(&start) = self.starts.get(position.line as usize) else {
            return self.text.len();
        };
        let line = &self.text[start..];
        let line = &line[..line.find('\n').unwrap_or(line.len())];
        let line = line.strip_suffix('\r').unwrap_or(line);
        let mut units = 0;
        for (i, c) in line.char_indices() {
            units += c.len_utf16();
            if units > position.character as usize {
                return start + i;
            }
        }
        start + line.len()
    }

    /// The position just after the last character.
    pub fn end(&self) -> Position {
        self.position(self.text.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_utf16_units() {
        // é is 2 bytes and 1 unit; 𝄞 is 4 bytes and 2 units.
        let text = "a\né𝄞x\r\nlast";
        let index = LineIndex::new(text);
        assert_eq!(index.position(0), Position::new(0, 0));
        assert_eq!(index.position(2), Position::new(1, 0));
        assert_eq!(index.position(4), Position::new(1, 1)); // after é
        assert_eq!(index.position(8), Position::new(1, 3)); // after 𝄞
        assert_eq!(index.position(9), Position::new(1, 4)); // after x
        assert_eq!(index.position(12), Position::new(2, 1));
        assert_eq!(index.end(), Position::new(2, 4));
        for offset in [0, 1, 2, 4, 8, 9, 11, 12, 15] {
            assert_eq!(
                index.offset(index.position(offset)),
                offset,
                "offset {offset}"
            );
        }
    }

    #[test]
    fn clamps_what_is_out_of_place() {
        let text = "é𝄞\nab";
        let index = LineIndex::new(text);
        assert_eq!(index.position(3), Position::new(0, 1)); // inside 𝄞: back to its start
        assert_eq!(index.position(99), Position::new(1, 2));
        assert_eq!(index.offset(Position::new(0, 2)), 2); // between the halves of 𝄞
        assert_eq!(index.offset(Position::new(0, 40)), 6); // past the end of the line
        assert_eq!(index.offset(Position::new(7, 0)), text.len());
        let crlf = LineIndex::new("ab\r\ncd");
        assert_eq!(crlf.offset(Position::new(0, 9)), 2); // before the \r
    }
}
