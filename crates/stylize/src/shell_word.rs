//! A path written as one word of a shell command, for the commands
//! messages suggest.

use std::path::Path;

/// `path` as one word of a shell command: as it is when it holds only
/// letters, digits and `/._-+,:@=`, else in single quotes (a `'` inside
/// written `'\''`); a relative path starting with `-` gets `./` so that it
/// is not read as a flag; a name that is not UTF-8 (which a message cannot
/// spell exactly) is `FILE`.
pub(crate) fn shell_word(path: &Path) -> String {
    let Some(text) = path.to_str() else {
        return "FILE".to_string();
    };
    let text = if text.starts_with('-') {
        format!("./{text}")
    } else {
        text.to_string()
    };
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+,:@=".contains(c));
    if plain {
        text
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_quoted_for_a_posix_shell() {
        assert_eq!(shell_word(Path::new("a/b-1.mp4")), "a/b-1.mp4");
        assert_eq!(shell_word(Path::new("my clip.mp4")), "'my clip.mp4'");
        assert_eq!(shell_word(Path::new("it's.mp4")), "'it'\\''s.mp4'");
        assert_eq!(shell_word(Path::new("-clip.mp4")), "./-clip.mp4");
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            let odd = std::ffi::OsStr::from_bytes(b"clip\xff.mp4");
            assert_eq!(shell_word(Path::new(odd)), "FILE");
        }
    }
}
