//! The jobs folders: the uploads and results of one user, readable by
//! that user alone.

/// A [`tempfile::Builder`] for a folder named `{prefix}XXXX` that only its
/// owner may enter (`0700` on Unix; `tempfile` otherwise follows the
/// umask, usually `0755`, which let other local users read the photos).
pub(crate) fn builder(prefix: &str) -> tempfile::Builder<'_, '_> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(prefix);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o700));
    }
    builder
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn only_the_owner_may_enter() {
        let parent = tempfile::tempdir().unwrap();
        let dir = super::builder("job-").tempdir_in(parent.path()).unwrap();
        let mode = std::fs::metadata(dir.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700, "{mode:o}");
        assert!(dir
            .path()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("job-"));
    }
}
