//! Embeds the feature files (hand-written and generated) in the binary, so that an installed
//! `appmesh-conformance` runs the whole suite from any directory: `features/**/*.feature` becomes
//! a list of (path, text) in `$OUT_DIR/features.rs`, included by `suite::features`. Cargo reruns
//! this when anything under `features/` changes.

use std::path::{Path, PathBuf};

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "feature") {
            out.push(path);
        }
    }
}

fn main() {
    println!("cargo:rerun-if-changed=features");
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    collect(&root.join("features"), &mut files);
    files.sort();
    let mut text = String::from(
        "/// Every feature file under `features/`, as (path relative to the crate, text).\npub const EMBEDDED: &[(&str, &str)] = &[\n",
    );
    for file in &files {
        let relative = file.strip_prefix(&root).expect("under the crate").to_string_lossy().replace('\\', "/");
        text.push_str(&format!("    ({relative:?}, include_str!({:?})),\n", file.to_string_lossy()));
    }
    text.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("features.rs");
    std::fs::write(out, text).expect("OUT_DIR is writable");
}
