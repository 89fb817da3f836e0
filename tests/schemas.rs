//! The committed schemas are what the types generate, and every shipped policy file names the
//! policy schema in its `yaml-language-server` modeline.

use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn committed(name: &str) -> String {
    std::fs::read_to_string(root().join("schemas").join(name)).unwrap()
}

#[test]
fn committed_policy_schema_is_generated_from_the_types() {
    let generated = serde_json::to_string_pretty(&jumpguard::policy::schema()).unwrap() + "\n";
    assert_eq!(
        committed("jumpguard-policy.schema.json"),
        generated,
        "schemas/jumpguard-policy.schema.json is stale: run `cargo run -- schema > schemas/jumpguard-policy.schema.json`"
    );
}

#[test]
fn committed_report_schema_is_generated_from_the_types() {
    let generated =
        serde_json::to_string_pretty(&jumpguard::analysis::report_schema()).unwrap() + "\n";
    assert_eq!(
        committed("jumpguard-report.schema.json"),
        generated,
        "schemas/jumpguard-report.schema.json is stale: run `cargo run -- schema --report > schemas/jumpguard-report.schema.json`"
    );
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            yaml_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "yaml" || x == "yml") {
            out.push(p);
        }
    }
}

#[test]
fn every_shipped_policy_file_starts_with_the_schema_modeline() {
    let mut files = Vec::new();
    yaml_files(&root().join("examples"), &mut files);
    // CI workflow files are YAML but not policies.
    files.retain(|f| !f.starts_with(root().join("examples/ci")));
    yaml_files(&root().join("policies"), &mut files);
    assert!(files.len() >= 9, "found only {files:?}");
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let first = text.lines().next().unwrap_or_default();
        let target = first
            .strip_prefix("# yaml-language-server: $schema=")
            .unwrap_or_else(|| panic!("{} does not start with the modeline", f.display()));
        let schema = f.parent().unwrap().join(target);
        assert!(
            schema.canonicalize().ok()
                == root()
                    .join("schemas/jumpguard-policy.schema.json")
                    .canonicalize()
                    .ok(),
            "{}: the modeline points at {}",
            f.display(),
            schema.display()
        );
    }
}
