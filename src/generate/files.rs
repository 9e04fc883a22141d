//! Writing the generated features, or checking the committed ones: the file I/O that the pure
//! generator leaves to its callers (`appmesh-conformance generate` and the freshness test).

use std::path::{Path, PathBuf};

use super::{GenerateError, Generated, generate, snake_case};
use crate::model::ServiceModel;

/// What writing (or checking) one operation's files did.
#[derive(Debug, Clone)]
pub struct Written {
    pub generated: Generated,
    /// The operation's folder.
    pub dir: PathBuf,
    /// Files that differ from what the model makes, or that it no longer makes (with `check`,
    /// nothing is written and these are the stale ones).
    pub changed: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error(transparent)]
    Generate(#[from] GenerateError),
    #[error("cannot write {path}: {error}; check that the folder is writable")]
    Io { path: PathBuf, error: std::io::Error },
}

/// Generates `operations` from `model` into `out` (one folder each), removing files an earlier
/// generation made that this one does not; with `check`, writes nothing and names what differs.
pub fn write(
    model: &ServiceModel,
    source: &str,
    operations: &[String],
    out: &Path,
    check: bool,
) -> Result<Vec<Written>, WriteError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |error| WriteError::Io { path, error }
    };
    let mut written = Vec::new();
    for operation in operations {
        let generated = generate(model, operation, source)?;
        let dir = out.join(snake_case(operation));
        let expected: Vec<PathBuf> = generated.files.iter().map(|f| out.join(&f.path)).collect();
        let mut changed = Vec::new();
        for file in &generated.files {
            let path = out.join(&file.path);
            if std::fs::read_to_string(&path).ok().as_deref() == Some(file.text.as_str()) {
                continue;
            }
            changed.push(path.display().to_string());
            if !check {
                std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, &file.text)).map_err(io(&path))?;
            }
        }
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "feature") && !expected.contains(&path) {
                changed.push(format!("{} (no longer generated)", path.display()));
                if !check {
                    std::fs::remove_file(&path).map_err(io(&path))?;
                }
            }
        }
        written.push(Written { generated, dir, changed });
    }
    Ok(written)
}
