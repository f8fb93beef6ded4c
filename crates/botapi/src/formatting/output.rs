//! The growing plain-text output of a parser, tracking its length in UTF-16 code units.

/// Output text plus its UTF-16 length, so entity offsets are read off directly.
#[derive(Debug, Default)]
pub(super) struct Output {
    pub(super) text: String,
    pub(super) utf16: u32,
}

impl Output {
    pub(super) fn push(&mut self, c: char) {
        self.text.push(c);
        self.utf16 = self.utf16.saturating_add(c.len_utf16() as u32);
    }
}

/// The char starting at byte `i` of `input` (`i` must be a char boundary).
pub(super) fn char_at(input: &str, i: usize) -> Option<char> {
    input.get(i..).and_then(|rest| rest.chars().next())
}
