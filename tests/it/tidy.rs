//! Checks that guard the structure: formatting, a `//!` line opening every module, every path
//! ARCHITECTURE.md names exists, and the `use crate::` graph between layers follows the layer
//! table in ARCHITECTURE.md (a lower layer never imports a higher one, and modules of one layer
//! do not import each other). Each checker is a pure function of file texts, and is shown to
//! fail on a planted defect.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The first segments of the paths ARCHITECTURE.md may name: a token starting with one of these
/// must exist in the checkout.
const ROOTS: &[&str] = &[
    "src",
    "tests",
    "features",
    "benches",
    "fuzz",
    "reports",
    "scripts",
    "targets",
    ".ci",
    ".github",
    ".clusterfuzzlite",
    "build.rs",
    "Cargo.toml",
    "Cargo.lock",
    "README.md",
    "ARCHITECTURE.md",
];

/// Every `.rs` file under `dir`, as (path relative to the checkout, text).
fn rust_files(dir: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::from(ROOT).join(dir)];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().to_string();
            if path.is_dir() && !matches!(name.as_str(), "target" | "node_modules" | "corpus" | "artifacts") {
                stack.push(path);
            } else if name.ends_with(".rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                out.push((path.strip_prefix(ROOT).unwrap().to_string_lossy().to_string(), text));
            }
        }
    }
    out.sort();
    out
}

/// The files whose first lines (after inner attributes) hold no `//!` line.
fn undocumented(files: &[(String, String)]) -> Vec<String> {
    files
        .iter()
        .filter(|(_, text)| {
            let first = text.lines().map(str::trim).find(|line| !line.is_empty() && !line.starts_with("#!["));
            !first.is_some_and(|line| line.starts_with("//!"))
        })
        .map(|(path, _)| path.clone())
        .collect()
}

/// Expands one level of `{a,b}` in a path: `src/report/{junit,html}.rs` → two paths.
fn expand(token: &str) -> Vec<String> {
    match (token.find('{'), token.find('}')) {
        (Some(open), Some(close)) if open < close => token[open + 1..close]
            .split(',')
            .map(|choice| format!("{}{}{}", &token[..open], choice.trim(), &token[close + 1..]))
            .collect(),
        _ => vec![token.to_string()],
    }
}

/// The paths a Markdown text names in backticks (those starting with one of [`ROOTS`]) that do
/// not exist under `root`.
fn missing_paths(markdown: &str, root: &Path) -> Vec<String> {
    let mut missing = Vec::new();
    for (index, token) in markdown.split('`').enumerate() {
        if index % 2 == 0 || token.contains(char::is_whitespace) || token.contains('*') || token.contains('$') {
            continue;
        }
        let first = token.split('/').next().unwrap_or_default();
        if !ROOTS.contains(&first) {
            continue;
        }
        for path in expand(token) {
            if !root.join(&path).exists() {
                missing.push(path);
            }
        }
    }
    missing.sort();
    missing.dedup();
    missing
}

/// The layer table of ARCHITECTURE.md: rows `| N | `module`, `module` | what |`.
fn layers(markdown: &str) -> BTreeMap<String, u32> {
    let mut out = BTreeMap::new();
    for line in markdown.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let [_, layer, modules, ..] = cells.as_slice() else { continue };
        let Ok(layer) = layer.parse::<u32>() else { continue };
        for module in modules.split(',') {
            out.insert(module.trim().trim_matches('`').to_string(), layer);
        }
    }
    out
}

/// The files whose test module is not the last item: code after it would escape the import
/// check, which stops at the test module. Formatted Rust puts every top-level item at column 0
/// and everything inside `mod tests` deeper, so after `#[cfg(test)]` only `mod tests {` and its
/// closing brace may start a line.
fn tests_not_last(files: &[(String, String)]) -> Vec<String> {
    files
        .iter()
        .filter(|(_, text)| {
            let Some(at) = text.find("\n#[cfg(test)]\n") else { return false };
            let after: Vec<&str> = text[at + 1..]
                .lines()
                .skip(1)
                .filter(|line| !line.is_empty() && !line.starts_with(char::is_whitespace))
                .collect();
            after != ["mod tests {", "}"]
        })
        .map(|(path, _)| path.clone())
        .collect()
}

/// The top-level modules one source text imports with `crate::`, with the line of each, outside
/// comments and the test module (which [`tests_not_last`] keeps last).
fn crate_imports(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or_default();
        if line.starts_with("#[cfg(test)]") {
            break;
        }
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let preceded = rest[..at].chars().next_back();
            rest = &rest[at + "crate::".len()..];
            if preceded.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
                continue;
            }
            if let Some(group) = rest.strip_prefix('{') {
                let mut depth = 0;
                let mut segment_start = true;
                for (i, c) in group.char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => break,
                        '}' => depth -= 1,
                        ',' if depth == 0 => segment_start = true,
                        c if segment_start && (c.is_alphanumeric() || c == '_') => {
                            let name: String =
                                group[i..].chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                            out.push((number + 1, name));
                            segment_start = false;
                        }
                        _ => {}
                    }
                }
            } else {
                let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                out.push((number + 1, name));
            }
        }
    }
    out
}

/// The files that name the checkout (`CARGO_MANIFEST_DIR`) outside their test module: an
/// installed binary has no checkout.
fn checkout_references(files: &[(String, String)]) -> Vec<String> {
    files
        .iter()
        .filter(|(_, text)| {
            let code = text.split("\n#[cfg(test)]\n").next().unwrap_or_default();
            code.lines().any(|line| !line.trim_start().starts_with("//") && line.contains("CARGO_MANIFEST_DIR"))
        })
        .map(|(path, _)| path.clone())
        .collect()
}

/// The top-level module a source file belongs to: `src/suite/steps/mesh.rs` → `suite`.
fn module_of(path: &str) -> Option<String> {
    let rest = path.strip_prefix("src/")?;
    let first = rest.split('/').next()?;
    let module = first.strip_suffix(".rs").unwrap_or(first);
    (!matches!(module, "lib" | "main")).then(|| module.to_string())
}

/// Every import against the layer table: upward, between modules of one layer, or from or to a
/// module the table does not place.
fn layer_violations(files: &[(String, String)], layers: &BTreeMap<String, u32>) -> Vec<String> {
    let mut out = Vec::new();
    for (path, text) in files {
        let Some(module) = module_of(path) else { continue };
        let Some(&own) = layers.get(&module) else {
            out.push(format!("{path}: module `{module}` is in no layer of ARCHITECTURE.md's table; add it"));
            continue;
        };
        for (line, imported) in crate_imports(text) {
            if imported == module {
                continue;
            }
            match layers.get(&imported) {
                None => out.push(format!("{path}:{line}: `crate::{imported}` is in no layer of the table")),
                Some(&layer) if layer > own => out.push(format!(
                    "{path}:{line}: `{module}` (layer {own}) imports `crate::{imported}` (layer {layer}), a higher layer"
                )),
                Some(&layer) if layer == own => out.push(format!(
                    "{path}:{line}: `{module}` imports `crate::{imported}`, a module of its own layer {own}"
                )),
                Some(_) => {}
            }
        }
    }
    out
}

fn architecture() -> String {
    std::fs::read_to_string(Path::new(ROOT).join("ARCHITECTURE.md")).unwrap()
}

#[test]
fn the_code_is_formatted() {
    let output = Command::new(env!("CARGO")).args(["fmt", "--all", "--check"]).current_dir(ROOT).output();
    let output = output.unwrap_or_else(|e| panic!("cannot run `cargo fmt`: {e}"));
    assert!(
        !String::from_utf8_lossy(&output.stderr).contains("not installed"),
        "rustfmt is missing: `rustup component add rustfmt`"
    );
    assert!(
        output.status.success(),
        "`cargo fmt --all --check` found unformatted code; run `cargo fmt`:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn every_module_opens_with_a_doc_line() {
    let mut files = Vec::new();
    for dir in ["src", "tests", "benches", "fuzz/fuzz_targets"] {
        files.extend(rust_files(dir));
    }
    assert!(files.len() > 50, "the walk found only {} files", files.len());
    let undocumented = undocumented(&files);
    assert!(undocumented.is_empty(), "modules without a `//!` line saying what they are: {undocumented:?}");
}

#[test]
fn every_path_architecture_names_exists() {
    let text = architecture();
    assert!(text.matches("`src/").count() > 20, "ARCHITECTURE.md names too few paths to check");
    let missing = missing_paths(&text, Path::new(ROOT));
    assert!(missing.is_empty(), "ARCHITECTURE.md names paths that do not exist: {missing:?}");
}

#[test]
fn imports_follow_the_layers_drawn_in_architecture() {
    let layers = layers(&architecture());
    assert!(layers.len() >= 15, "ARCHITECTURE.md's layer table holds only {layers:?}");
    let files = rust_files("src");
    let late = tests_not_last(&files);
    assert!(late.is_empty(), "code after the test module, where the import check does not look: {late:?}");
    let violations = layer_violations(&files, &layers);
    assert!(violations.is_empty(), "imports against the layers:\n{}", violations.join("\n"));
}

#[test]
fn nothing_outside_tests_reads_the_checkout() {
    let named = checkout_references(&rust_files("src"));
    assert!(named.is_empty(), "library code that names the checkout, which an installed binary lacks: {named:?}");
}

#[test]
fn the_checkers_fail_on_planted_defects() {
    // An upward import, in both spellings, and one within a layer.
    let layers = layers("| 1 | `model` | x |\n| 2 | `client`, `emulator` | y |\n| 3 | `suite` | z |");
    assert_eq!(layers.len(), 4);
    let files = vec![
        ("src/model/mod.rs".to_string(), "//! m\nuse crate::suite::World;\n".to_string()),
        ("src/client/mod.rs".to_string(), "//! c\nuse crate::{model::Shape, emulator::{Emulator, x}};\n".to_string()),
        ("src/suite/mod.rs".to_string(), "//! s\nuse crate::{client, model};\n// crate::nothing\n".to_string()),
        ("src/new.rs".to_string(), "//! n\n".to_string()),
        ("src/emulator/mod.rs".to_string(), "//! e\n#[cfg(test)]\nmod tests { use crate::suite; }\n".to_string()),
    ];
    let violations = layer_violations(&files, &layers);
    assert_eq!(violations.len(), 3, "{violations:#?}");
    assert!(violations[0].starts_with("src/model/mod.rs:2: `model` (layer 1) imports `crate::suite` (layer 3)"));
    assert!(violations[1].contains("src/client/mod.rs:2: `client` imports `crate::emulator`, a module of its own"));
    assert!(violations[2].contains("module `new` is in no layer"));

    // Code after the test module.
    let files = vec![
        ("last.rs".to_string(), "//! l\nfn a() {}\n\n#[cfg(test)]\nmod tests {\n    use super::*;\n}\n".to_string()),
        ("late.rs".to_string(), "//! l\n#[cfg(test)]\nmod tests {\n}\nuse crate::suite;\n".to_string()),
    ];
    assert_eq!(tests_not_last(&files), ["late.rs"]);

    // The checkout named outside a test module.
    let files = vec![
        (
            "a.rs".to_string(),
            "//! a\n// CARGO_MANIFEST_DIR\n#[cfg(test)]\nmod tests {\n    env!(\"CARGO_MANIFEST_DIR\");\n}\n".into(),
        ),
        ("b.rs".to_string(), "//! b\nconst D: &str = env!(\"CARGO_MANIFEST_DIR\");\n".to_string()),
    ];
    assert_eq!(checkout_references(&files), ["b.rs"]);

    // A module without its doc line.
    let files =
        vec![("a.rs".to_string(), "#![no_main]\n//! a\n".to_string()), ("b.rs".to_string(), "use x;\n".to_string())];
    assert_eq!(undocumented(&files), ["b.rs"]);

    // A path that is not there, and the forms that are not paths.
    let markdown = "`src/lib.rs`, `src/report/{mod,gone}.rs`, `tests/none/`, `features/**/*.feature`, `x/y`";
    assert_eq!(missing_paths(markdown, Path::new(ROOT)), ["src/report/gone.rs", "tests/none/"]);
}
