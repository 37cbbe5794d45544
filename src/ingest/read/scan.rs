//! Byte scanning for the splitter's lexer, eight bytes at a time.
//!
//! The splitter spends most of its time looking for the next byte that
//! matters (a quote, a backslash, a bracket, a newline); testing a 64-bit
//! word at once ("SWAR") makes that several times faster than a byte loop
//! without any `unsafe` or platform intrinsics.

/// Finds the closing quote of a string in `bytes` (the opening quote
/// already read); `in_escape` carries a pending backslash across chunks.
pub(super) fn scan_string(bytes: &[u8], in_escape: &mut bool) -> Option<usize> {
    let mut i = 0;
    if *in_escape {
        if bytes.is_empty() {
            return None;
        }
        *in_escape = false;
        i = 1;
    }
    while i < bytes.len() {
        match find_in_string(&bytes[i..]) {
            None => return None,
            Some(j) => {
                i += j;
                if bytes[i] == b'"' {
                    return Some(i);
                }
                // A backslash: skip the escaped byte.
                if i + 1 >= bytes.len() {
                    *in_escape = true;
                    return None;
                }
                i += 2;
            }
        }
    }
    None
}

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// High bit set in each byte of `x` equal to `b` (the lowest set bit is
/// always exact; bits above it may be spurious).
#[inline(always)]
fn eq_mask(x: u64, b: u8) -> u64 {
    let y = x ^ (LO * u64::from(b));
    y.wrapping_sub(LO) & !y & HI
}

/// Number of `\n` bytes, eight bytes at a time (exact per-byte test).
pub(super) fn count_newlines(bytes: &[u8]) -> usize {
    const LOW7: u64 = 0x7F7F_7F7F_7F7F_7F7F;
    let mut chunks = bytes.chunks_exact(8);
    let mut n = 0usize;
    for chunk in &mut chunks {
        let y = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8])) ^ (LO * u64::from(b'\n'));
        let zero = !(((y & LOW7).wrapping_add(LOW7)) | y) & HI;
        n += zero.count_ones() as usize;
    }
    n + chunks.remainder().iter().filter(|b| **b == b'\n').count()
}

/// Index of the first `"` or `\`.
#[inline(always)]
fn find_in_string(bytes: &[u8]) -> Option<usize> {
    find_first(
        bytes,
        |x| eq_mask(x, b'"') | eq_mask(x, b'\\'),
        |b| b == b'"' || b == b'\\',
    )
}

/// Index of the first `"`, `{`, `[`, `}` or `]`.
#[inline(always)]
pub(super) fn find_structural(bytes: &[u8]) -> Option<usize> {
    find_first(
        bytes,
        |x| {
            // `[`/`]` differ from `{`/`}` only in bit 5.
            let folded = x | (LO * 0x20);
            eq_mask(x, b'"') | eq_mask(folded, b'{') | eq_mask(folded, b'}')
        },
        |b| matches!(b, b'"' | b'{' | b'[' | b'}' | b']'),
    )
}

/// Index of the first byte `wanted` accepts: whole words through `mask`
/// (high bit set in each byte that may match, the lowest one exactly), the
/// tail byte by byte.
#[inline(always)]
fn find_first(
    bytes: &[u8],
    mask: impl Fn(u64) -> u64,
    wanted: impl Fn(u8) -> bool,
) -> Option<usize> {
    let mut chunks = bytes.chunks_exact(8);
    let mut i = 0;
    for chunk in &mut chunks {
        let m = mask(u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8])));
        if m != 0 {
            return Some(i + (m.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|b| wanted(*b))
        .map(|j| i + j)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swar_search_matches_a_plain_search() {
        let samples: [&[u8]; 6] = [
            b"",
            b"abc",
            br#"0123456789abcdef"x"#,
            br#"0123456\\89abcdef"#,
            br#"aaaaaaaaaaaaaaa]bbbb{"#,
            "\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}[\u{ff}".as_bytes(),
        ];
        for s in samples {
            for start in 0..s.len().max(1) {
                let b = &s[start.min(s.len())..];
                let plain = b.iter().position(|c| *c == b'"' || *c == b'\\');
                assert_eq!(find_in_string(b), plain, "{b:?}");
                let plain = b
                    .iter()
                    .position(|c| matches!(c, b'"' | b'{' | b'[' | b'}' | b']'));
                assert_eq!(find_structural(b), plain, "{b:?}");
            }
        }
        // Every byte value, at every offset of a word.
        for v in 0..=255u8 {
            for at in 0..9 {
                let mut b = vec![b'a'; 12];
                b[at] = v;
                let want = if matches!(v, b'"' | b'\\') {
                    Some(at)
                } else {
                    None
                };
                assert_eq!(find_in_string(&b), want, "{v}");
                let want = if matches!(v, b'"' | b'{' | b'[' | b'}' | b']') {
                    Some(at)
                } else {
                    None
                };
                assert_eq!(find_structural(&b), want, "{v}");
            }
        }
    }

    #[test]
    fn newline_count() {
        for v in 0..=255u8 {
            let mut b = vec![v; 19];
            b[3] = b'\n';
            let want = b.iter().filter(|c| **c == b'\n').count();
            assert_eq!(count_newlines(&b), want, "{v}");
        }
        assert_eq!(count_newlines(b"\n\n\n\n\n\n\n\n\n"), 9);
    }

    #[test]
    fn strings_split_across_chunks() {
        let mut esc = false;
        assert_eq!(scan_string(br#"ab\"#, &mut esc), None);
        assert!(esc);
        assert_eq!(scan_string(br#""x""#, &mut esc), Some(2));
        assert!(!esc);
    }
}
