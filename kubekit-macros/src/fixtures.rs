//! Compile-time checks of fixture files: they exist and hold multi-document YAML whose
//! documents each have an `apiVersion` and a `kind`.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_saphyr::Spanned;

/// The two fields every Kubernetes object has; the rest is checked when the fixture is applied.
#[derive(Deserialize)]
struct Head {
    #[serde(rename = "apiVersion")]
    api_version: Option<String>,
    kind: Option<String>,
}

/// Where a fixture path written in the attribute points: relative to `manifest_dir`.
pub(crate) fn resolve(manifest_dir: &Path, path: &str) -> PathBuf {
    manifest_dir.join(path)
}

/// Reads and checks the fixture at `full` (written as `path` in the attribute); the error is
/// the compile error's message.
pub(crate) fn check(path: &str, full: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(full).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => format!(
            "fixture `{path}` not found: there is no file {} (fixture paths are relative to \
             the crate's directory, CARGO_MANIFEST_DIR)",
            full.display()
        ),
        _ => format!(
            "fixture `{path}` cannot be read from {}: {e}",
            full.display()
        ),
    })?;
    check_yaml(path, &text)
}

/// Checks fixture text: YAML documents, each with `apiVersion` and `kind`, at least one.
pub(crate) fn check_yaml(path: &str, text: &str) -> Result<(), String> {
    let options = serde_saphyr::options! { with_snippet: false };
    let docs: Vec<Spanned<Head>> = serde_saphyr::from_multiple_with_options(text, options)
        .map_err(|e| format!("fixture `{path}` is not valid YAML: {e}"))?;
    if docs.is_empty() {
        return Err(format!("fixture `{path}` holds no YAML document"));
    }
    for (i, doc) in docs.iter().enumerate() {
        let missing: Vec<&str> = [
            ("apiVersion", doc.value.api_version.is_none()),
            ("kind", doc.value.kind.is_none()),
        ]
        .into_iter()
        .filter_map(|(field, missing)| missing.then_some(field))
        .collect();
        if !missing.is_empty() {
            return Err(format!(
                "fixture `{path}`: the object at line {} (document {} of {}) has no `{}`; \
                 every document must be a Kubernetes object with `apiVersion` and `kind`",
                doc.referenced.line(),
                i + 1,
                docs.len(),
                missing.join("` and `"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_yaml;

    #[test]
    fn accepts_multi_document_manifests() {
        let yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n---\n\
                    apiVersion: v1\nkind: Secret\nmetadata: {name: b}\n";
        assert_eq!(check_yaml("f.yaml", yaml), Ok(()));
    }

    #[test]
    fn rejects_a_document_without_kind() {
        let yaml = "apiVersion: v1\nkind: ConfigMap\n---\napiVersion: v1\nmetadata: {name: b}\n";
        let error = check_yaml("f.yaml", yaml).expect_err("an error");
        assert!(
            error.contains("line 4 (document 2 of 2) has no `kind`"),
            "{error}"
        );
    }

    #[test]
    fn rejects_invalid_yaml_and_empty_files() {
        let error = check_yaml("f.yaml", "kind: [Pod\n").expect_err("an error");
        assert!(
            error.starts_with("fixture `f.yaml` is not valid YAML: "),
            "{error}"
        );
        let error = check_yaml("f.yaml", "# nothing\n").expect_err("an error");
        assert_eq!(error, "fixture `f.yaml` holds no YAML document");
        let error = check_yaml("f.yaml", "- a\n- b\n").expect_err("an error");
        assert!(
            error.starts_with("fixture `f.yaml` is not valid YAML: "),
            "{error}"
        );
    }
}
