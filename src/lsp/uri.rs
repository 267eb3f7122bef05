//! `file:` URIs to paths and back, with percent-encoding (RFC 3986, RFC 8089).

use std::path::{Path, PathBuf};
use std::str::FromStr;

use lsp_types::Uri;
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// The local path a `file:` URI names; `None` for other schemes and other hosts.
pub fn to_path(uri: &Uri) -> Option<PathBuf> {
    let rest = uri.as_str().strip_prefix("file://")?;
    // file:///path, or file://localhost/path.
    let rest = rest.strip_prefix("localhost").unwrap_or(rest);
    if !rest.starts_with('/') {
        return None;
    }
    let path = rest.split(['?', '#']).next().unwrap_or_default();
    Some(PathBuf::from(decode(path)?))
}

/// The `file:` URI of an absolute path (made absolute against the working directory).
pub fn from_path(path: &Path) -> Option<Uri> {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().ok()?.join(path)
    };
    let text = absolute.to_str()?;
    let uri = format!("file://{}", utf8_percent_encode(text, PATH));
    Uri::from_str(&uri).ok()
}

/// What a path keeps as it is in a URI: letters, digits, `/` and RFC 3986's unreserved marks.
const PATH: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'/')
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `None` for a `%` not followed by two hex digits, or bytes that are not UTF-8.
fn decode(text: &str) -> Option<String> {
    let malformed = text.match_indices('%').any(|(i, _)| {
        !text
            .get(i + 1..i + 3)
            .is_some_and(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
    });
    if malformed {
        return None;
    }
    percent_decode_str(text)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_paths_with_spaces_and_accents() {
        let path = Path::new("/tmp/my dir/café #1.ipvs");
        let uri = from_path(path).expect("a uri");
        assert_eq!(uri.as_str(), "file:///tmp/my%20dir/caf%C3%A9%20%231.ipvs");
        assert_eq!(to_path(&uri).as_deref(), Some(path));
    }

    #[test]
    fn reads_what_editors_send() {
        let uri = |s: &str| Uri::from_str(s).expect("valid");
        assert_eq!(
            to_path(&uri("file:///etc/ipvs/lb.ipvs")),
            Some(PathBuf::from("/etc/ipvs/lb.ipvs"))
        );
        assert_eq!(
            to_path(&uri("file://localhost/a%3Ab.ipvs")),
            Some(PathBuf::from("/a:b.ipvs"))
        );
        assert_eq!(to_path(&uri("untitled:Untitled-1")), None);
    }
}
