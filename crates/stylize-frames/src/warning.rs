//! Warnings about an input (a clip cut short, a stream left out, a rate
//! that changes): always logged, and also handed to the caller's hook, for
//! a program that shows them somewhere other than its log.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One warning about an input: what is read differently from what the file
/// holds, or what a user should know about the result. Shown as
/// `INPUT: MESSAGE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// The input the warning is about (a file, a folder, or `-`).
    pub input: PathBuf,
    /// What is wrong, without the input's path in front.
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.input.display(), self.message)
    }
}

/// A function that receives each [`Warning`] a source gives, besides the
/// log ([`SourceOptions::on_warning`](crate::SourceOptions::on_warning)):
/// a web server attaches them to the job whose clip it reads. It is
/// called on the thread reading the source. Two hooks are equal when they
/// are the same function object.
#[derive(Clone)]
pub struct WarningHook(Arc<dyn Fn(&Warning) + Send + Sync>);

impl WarningHook {
    /// A hook calling `f`.
    pub fn new(f: impl Fn(&Warning) + Send + Sync + 'static) -> Self {
        Self(Arc::new(f))
    }
}

impl fmt::Debug for WarningHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WarningHook(..)")
    }
}

impl PartialEq for WarningHook {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for WarningHook {}

/// Logs `message` about `input` as a warning and hands it to `hook`.
pub(crate) fn warn(hook: Option<&WarningHook>, input: &Path, message: String) {
    let warning = Warning {
        input: input.to_path_buf(),
        message,
    };
    log::warn!("{warning}");
    if let Some(hook) = hook {
        (hook.0)(&warning);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn a_hook_gets_the_message_without_the_path() {
        let got = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&got);
        let hook = WarningHook::new(move |w| sink.lock().unwrap().push(w.clone()));
        warn(
            Some(&hook),
            Path::new("dir/clip.mp4"),
            "it ends early".into(),
        );
        let got = got.lock().unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].message, "it ends early");
        assert_eq!(got[0].to_string(), "dir/clip.mp4: it ends early");
        assert_eq!(hook, hook.clone());
        assert_ne!(hook, WarningHook::new(|_| {}));
    }
}
