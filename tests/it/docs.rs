//! The README, ARCHITECTURE.md and docs/ name files and link to each other: every path they
//! name must exist, so the pages cannot drift from the tree.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn pages() -> Vec<PathBuf> {
    let mut pages = vec![root().join("README.md"), root().join("ARCHITECTURE.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    docs.sort();
    pages.extend(docs);
    pages
}

/// Top-level folders and files of the repository that a page may name in backticks.
const REPO_ROOTS: &[&str] = &[
    "src/",
    "tests/",
    "docs/",
    "bench/",
    "benches/",
    "deploy/",
    "scripts/",
    "schemas/",
    "descriptors/",
    "examples/",
    "fuzz/",
    ".ci/",
];

/// Paths a page names: link targets `](...)` (relative to the page) and backticked tokens
/// that start at a repository folder (relative to the root). Placeholders (`<format>`,
/// `*`, `...`) are not paths.
fn named_paths(page: &Path, text: &str) -> Vec<(String, PathBuf)> {
    let dir = page.parent().unwrap();
    let mut out = Vec::new();
    for (i, _) in text.match_indices("](") {
        let rest = &text[i + 2..];
        let Some(end) = rest.find(')') else { continue };
        let target = rest[..end].split('#').next().unwrap_or("");
        if target.is_empty() || target.contains("://") {
            continue;
        }
        out.push((target.to_owned(), dir.join(target)));
    }
    for token in text.split('`').skip(1).step_by(2) {
        let token = token.trim();
        if token.contains(['<', '*', ' ']) || token.contains("...") {
            continue;
        }
        if REPO_ROOTS.iter().any(|r| token.starts_with(r)) {
            let path = token.trim_end_matches(':');
            out.push((path.to_owned(), root().join(path)));
        }
    }
    out
}

#[test]
fn every_path_the_pages_name_exists() {
    let mut missing = Vec::new();
    let mut checked = 0;
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        for (named, path) in named_paths(&page, &text) {
            checked += 1;
            if !path.exists() {
                missing.push(format!("{}: {named}", page.display()));
            }
        }
    }
    assert!(
        checked > 50,
        "only {checked} paths found: is the scan broken?"
    );
    assert!(
        missing.is_empty(),
        "paths named but missing:\n{}",
        missing.join("\n")
    );
}

#[test]
fn the_readme_stays_a_newcomers_page() {
    let lines = std::fs::read_to_string(root().join("README.md"))
        .unwrap()
        .lines()
        .count();
    assert!(
        lines <= 200,
        "README.md has {lines} lines; references belong in docs/"
    );
}
