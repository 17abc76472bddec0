//! Tests of the ConfigMap and Secret builders: rendered YAML (snapshots), round trips through
//! `kubekit::manifest`, and every validation rule, accepted and rejected. Compile-time
//! requirements are in `ui.rs`.

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kubekit::builders::validate::{self, Validate};
use kubekit::builders::{SecretType, ValidationError, config_map, secret};
use kubekit::manifest;

type Result<T = (), E = ValidationError> = std::result::Result<T, E>;
type AnyResult = std::result::Result<(), Box<dyn std::error::Error>>;

#[track_caller]
fn assert_err<T: std::fmt::Debug>(r: Result<T>, field: &str, value: &str) -> ValidationError {
    let err = r.expect_err("expected a validation error");
    assert_eq!(err.field, field, "{err}");
    assert_eq!(err.value, value, "{err}");
    err
}

const PASSWORD: &str = "correct-horse-battery-staple";

// ------------------------------------------------------------------------------------------
// Output
// ------------------------------------------------------------------------------------------

fn settings() -> Result<ConfigMap> {
    config_map()
        .name("settings")
        .namespace("shop")
        .label("app", "shop")
        .annotation("example.com/owner", "team-a")
        .data("mode", "fast")
        .data("retries", "3")
        .data("app.conf", "port = 80\nworkers = 4\n")
        .binary_data("logo.png", [0x89, b'P', b'N', b'G', 0, 0xff])
        .immutable(true)
        .build()
}

fn db_secret() -> Result<Secret> {
    secret()
        .name("db")
        .namespace("shop")
        .label("app", "shop")
        .string_data("username", "shop")
        .string_data("password", PASSWORD)
        .data("ca.der", vec![0x30, 0x82, 0x01, 0x0a])
        .type_(SecretType::Opaque)
        .build()
}

#[test]
fn snapshot_config_map() -> AnyResult {
    insta::assert_snapshot!("config_map", manifest::to_yaml(&settings()?)?);
    Ok(())
}

#[test]
fn snapshot_secret() -> AnyResult {
    insta::assert_snapshot!("secret", manifest::to_yaml(&db_secret()?)?);
    Ok(())
}

#[test]
fn snapshot_secret_tls() -> AnyResult {
    let s = secret()
        .name("web-tls")
        .tls(
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
            "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n",
        )
        .build()?;
    insta::assert_snapshot!("secret_tls", manifest::to_yaml(&s)?);
    Ok(())
}

#[test]
fn round_trips_through_yaml() -> AnyResult {
    let cm = settings()?;
    let mut objects = manifest::from_yaml(&manifest::to_yaml(&cm)?)?;
    assert_eq!(objects.len(), 1);
    assert_eq!(ConfigMap::try_from(objects.remove(0)).ok(), Some(cm));

    for s in [
        db_secret()?,
        secret().name("t").tls("cert", "key").build()?,
        secret()
            .name("pull")
            .docker_config_json(r#"{"auths":{}}"#)
            .build()?,
        secret().name("token").service_account_token("ci").build()?,
    ] {
        let mut objects = manifest::from_yaml(&manifest::to_yaml(&s)?)?;
        assert_eq!(Secret::try_from(objects.remove(0)).ok(), Some(s));
    }
    Ok(())
}

#[test]
fn minimal_objects_hold_only_what_was_set() -> AnyResult {
    let cm = config_map()
        .name("c")
        .labels(Vec::<(String, String)>::new())
        .data_entries(Vec::<(String, String)>::new())
        .build()?;
    assert_eq!(
        serde_json::to_value(&cm)?,
        serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}})
    );
    let s = secret().name("s").build()?;
    assert_eq!(
        serde_json::to_value(&s)?,
        serde_json::json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}})
    );
    Ok(())
}

#[test]
fn secrets_are_written_to_data_not_string_data() -> Result {
    let s = db_secret()?;
    assert_eq!(s.string_data, None);
    let data = s.data.expect("data");
    assert_eq!(data["password"], ByteString(PASSWORD.as_bytes().to_vec()));
    assert_eq!(data["username"], ByteString(b"shop".to_vec()));
    // The last value of a key wins, text or bytes.
    let s = secret()
        .name("s")
        .data("k", vec![1u8])
        .string_data("k", "two")
        .build()?;
    assert_eq!(s.data.map(|d| d["k"].0.clone()), Some(b"two".to_vec()));
    Ok(())
}

#[test]
fn secret_shortcuts_set_type_and_keys() -> Result {
    let keys = |s: &Secret| -> Vec<String> {
        s.data
            .iter()
            .flat_map(|d| d.keys().cloned())
            .collect::<Vec<_>>()
    };
    let s = secret().name("s").tls("c", "k").build()?;
    assert_eq!(s.type_.as_deref(), Some("kubernetes.io/tls"));
    assert_eq!(keys(&s), ["tls.crt", "tls.key"]);
    let s = secret().name("s").basic_auth("u", "p").build()?;
    assert_eq!(s.type_.as_deref(), Some("kubernetes.io/basic-auth"));
    assert_eq!(keys(&s), ["password", "username"]);
    let s = secret().name("s").docker_config_json("{}").build()?;
    assert_eq!(s.type_.as_deref(), Some("kubernetes.io/dockerconfigjson"));
    assert_eq!(keys(&s), [".dockerconfigjson"]);
    let s = secret().name("s").ssh_auth("key").build()?;
    assert_eq!(s.type_.as_deref(), Some("kubernetes.io/ssh-auth"));
    assert_eq!(keys(&s), ["ssh-privatekey"]);
    let s = secret().name("s").service_account_token("ci").build()?;
    assert_eq!(
        s.type_.as_deref(),
        Some("kubernetes.io/service-account-token")
    );
    assert!(keys(&s).is_empty());
    Ok(())
}

#[test]
fn secret_types_have_their_kubernetes_names() {
    let all = [
        (SecretType::Opaque, "Opaque"),
        (
            SecretType::ServiceAccountToken,
            "kubernetes.io/service-account-token",
        ),
        (SecretType::DockerCfg, "kubernetes.io/dockercfg"),
        (
            SecretType::DockerConfigJson,
            "kubernetes.io/dockerconfigjson",
        ),
        (SecretType::BasicAuth, "kubernetes.io/basic-auth"),
        (SecretType::SshAuth, "kubernetes.io/ssh-auth"),
        (SecretType::Tls, "kubernetes.io/tls"),
        (SecretType::BootstrapToken, "bootstrap.kubernetes.io/token"),
        (
            SecretType::Other("example.com/token".into()),
            "example.com/token",
        ),
    ];
    for (t, name) in all {
        assert_eq!(t.as_str(), name);
        assert_eq!(t.to_string(), name);
        assert_eq!(SecretType::from(name), t);
        assert_eq!(SecretType::from(name.to_string()), t);
    }
    assert_eq!(SecretType::default(), SecretType::Opaque);
    assert_eq!(
        secret()
            .name("s")
            .type_("example.com/token")
            .build()
            .ok()
            .and_then(|s| s.type_),
        Some("example.com/token".to_string())
    );
}

// ------------------------------------------------------------------------------------------
// Rules
// ------------------------------------------------------------------------------------------

#[test]
fn rule_config_key() {
    for good in [
        "a",
        "app.conf",
        "KEY_NAME",
        "key-name",
        ".dockerconfigjson",
        ".a",
        "a..b",
        "tls.crt",
        "9",
        &"k".repeat(253),
    ] {
        assert_eq!(validate::config_key(good), Ok(()), "{good}");
    }
    let chars =
        "is not a valid config key: must consist of alphanumeric characters, '-', '_' or '.'";
    for (bad, rule) in [
        ("", chars),
        ("bad key", chars),
        ("a/b", chars),
        ("a:b", chars),
        ("é", chars),
        ("key\n", chars),
        (".", "is not a valid config key: must not be '.'"),
        ("..", "is not a valid config key: must not be '..'"),
        (
            "..data",
            "is not a valid config key: must not start with '..'",
        ),
        (
            &"k".repeat(254),
            "is not a valid config key: must be no more than 253 characters",
        ),
    ] {
        assert_eq!(validate::config_key(bad), Err(rule), "{bad:?}");
    }
}

#[test]
fn names_and_metadata_are_checked() -> Result {
    for (name, ok) in [
        ("settings", true),
        ("web.example.com", true),
        ("Settings", false),
        ("under_score", false),
        ("-web", false),
    ] {
        assert_eq!(config_map().name(name).build().is_ok(), ok, "{name}");
        assert_eq!(secret().name(name).build().is_ok(), ok, "{name}");
    }
    let err = assert_err(
        config_map().name("Settings").build(),
        "metadata.name",
        "Settings",
    );
    assert_eq!(
        err.to_string(),
        "ConfigMap \"Settings\": metadata.name \"Settings\" is not a valid DNS-1123 subdomain: \
         must consist of lower case alphanumeric characters, '-' or '.', and must start and end \
         with an alphanumeric character"
    );
    assert_eq!(
        assert_err(secret().name("db_1").build(), "metadata.name", "db_1").kind,
        "Secret"
    );
    assert_err(
        config_map().name("c").namespace("Shop").build(),
        "metadata.namespace",
        "Shop",
    );
    assert_err(
        secret().name("s").label("bad key", "x").build(),
        "metadata.labels",
        "bad key",
    );
    assert_err(
        config_map().name("c").label("app", "bad value").build(),
        "metadata.labels.app",
        "bad value",
    );
    assert_err(
        secret().name("s").annotation("Bad.Prefix/x", "v").build(),
        "metadata.annotations",
        "Bad.Prefix/x",
    );
    assert!(
        config_map()
            .name("c")
            .annotations([("example.com/x", "anything: at all!")])
            .build()
            .is_ok()
    );
    Ok(())
}

#[test]
fn config_map_keys_are_checked() {
    let err = assert_err(
        config_map().name("c").data("bad key", "x").build(),
        "data[bad key]",
        "bad key",
    );
    assert_eq!(
        err.to_string(),
        "ConfigMap \"c\": data[bad key] \"bad key\" is not a valid config key: must consist of \
         alphanumeric characters, '-', '_' or '.'"
    );
    let err = assert_err(
        config_map().name("c").binary_data("..data", [1u8]).build(),
        "binaryData[..data]",
        "..data",
    );
    assert_eq!(
        err.rule,
        "is not a valid config key: must not start with '..'"
    );
    assert!(
        config_map()
            .name("c")
            .data("a", "1")
            .binary_data("b", [1u8])
            .build()
            .is_ok()
    );
}

#[test]
fn config_map_key_in_data_and_binary_data_is_rejected() {
    let err = assert_err(
        config_map()
            .name("c")
            .data("blob", "text")
            .binary_data("blob", [1u8])
            .build(),
        "binaryData[blob]",
        "blob",
    );
    assert_eq!(
        err.to_string(),
        "ConfigMap \"c\": binaryData[blob] \"blob\" is a duplicate: a key may not be in both data \
         and binaryData"
    );
}

#[test]
fn total_size_is_limited_to_one_mebibyte() {
    let half = "x".repeat(512 * 1024);
    // Exactly 1 MiB is accepted.
    assert!(
        config_map()
            .name("c")
            .data("a", half.clone())
            .binary_data("b", half.clone())
            .build()
            .is_ok()
    );
    let err = assert_err(
        config_map()
            .name("c")
            .data("a", half.clone())
            .binary_data("b", format!("{half}x"))
            .build(),
        "data",
        "1048577 bytes",
    );
    assert_eq!(
        err.rule,
        "is too long: data and binaryData must hold at most 1048576 bytes in total"
    );

    assert!(
        secret()
            .name("s")
            .string_data("a", half.clone())
            .data("b", half.clone())
            .build()
            .is_ok()
    );
    let err = assert_err(
        secret()
            .name("s")
            .string_data("a", half.clone())
            .data("b", format!("{half}x"))
            .build(),
        "data",
        "1048577 bytes",
    );
    assert_eq!(
        err.rule,
        "is too long: data and stringData must hold at most 1048576 bytes in total"
    );
}

#[test]
fn secret_keys_are_checked() -> Result<(), Box<dyn std::error::Error>> {
    let err = assert_err(
        secret()
            .name("s")
            .string_data("pass word", PASSWORD)
            .build(),
        "data[pass word]",
        "pass word",
    );
    assert!(!err.to_string().contains(PASSWORD));
    assert_err(secret().name("s").data(".", [1u8]).build(), "data[.]", ".");

    // A parsed Secret with `stringData`: its keys are checked under `stringData`.
    let parsed: Secret = manifest::from_yaml_one(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  bad/key: hunter2\n",
    )?;
    assert_err(parsed.validate(), "stringData[bad/key]", "bad/key");
    Ok(())
}

#[test]
fn tls_secrets_need_a_certificate_and_a_key() {
    let err = assert_err(
        secret().name("t").type_(SecretType::Tls).build(),
        "data[tls.crt]",
        "",
    );
    assert_eq!(
        err.to_string(),
        "Secret \"t\": data[tls.crt] \"\" is required for a Secret of type kubernetes.io/tls"
    );
    assert_err(
        secret()
            .name("t")
            .type_(SecretType::Tls)
            .data("tls.crt", "cert")
            .build(),
        "data[tls.key]",
        "",
    );
    // Present but empty is enough for the API server.
    assert!(
        secret()
            .name("t")
            .type_(SecretType::Tls)
            .data("tls.crt", "")
            .data("tls.key", "")
            .build()
            .is_ok()
    );
}

#[test]
fn docker_config_secrets_need_a_json_object() {
    for (t, key) in [
        (SecretType::DockerConfigJson, ".dockerconfigjson"),
        (SecretType::DockerCfg, ".dockercfg"),
    ] {
        let field = format!("data[{key}]");
        let err = assert_err(secret().name("p").type_(t.clone()).build(), &field, "");
        assert_eq!(
            err.rule,
            format!("is required for a Secret of type {}", t.as_str())
        );
        assert!(
            secret()
                .name("p")
                .type_(t.clone())
                .string_data(key, r#"{"auths": {}}"#)
                .build()
                .is_ok()
        );
        // Not JSON, or JSON but not an object: the value is redacted, never quoted.
        let secret_text = "{\"auths\": \"hunter2-token\"";
        let err = assert_err(
            secret()
                .name("p")
                .type_(t.clone())
                .string_data(key, secret_text)
                .build(),
            &field,
            "<secret contents redacted>",
        );
        assert_eq!(
            err.rule,
            "must be a JSON object: invalid JSON at line 1 column 25"
        );
        assert!(!err.to_string().contains("hunter2"), "{err}");
        let err = assert_err(
            secret()
                .name("p")
                .type_(t.clone())
                .string_data(key, "\"hunter2-token\"")
                .build(),
            &field,
            "<secret contents redacted>",
        );
        assert_eq!(err.rule, "must be a JSON object");
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }
    let err = assert_err(
        secret().name("p").docker_config_json("[1]").build(),
        "data[.dockerconfigjson]",
        "<secret contents redacted>",
    );
    assert_eq!(
        err.to_string(),
        "Secret \"p\": data[.dockerconfigjson] \"<secret contents redacted>\" must be a JSON object"
    );
}

#[test]
fn basic_auth_secrets_need_a_username_or_a_password() {
    let err = assert_err(
        secret().name("b").type_(SecretType::BasicAuth).build(),
        "data[username]",
        "",
    );
    assert_eq!(
        err.rule,
        "is required for a Secret of type kubernetes.io/basic-auth (unless `password` is set)"
    );
    for key in ["username", "password"] {
        assert!(
            secret()
                .name("b")
                .type_(SecretType::BasicAuth)
                .string_data(key, "")
                .build()
                .is_ok(),
            "{key}"
        );
    }
}

#[test]
fn ssh_auth_secrets_need_a_private_key() {
    let err = assert_err(
        secret().name("k").type_(SecretType::SshAuth).build(),
        "data[ssh-privatekey]",
        "",
    );
    assert_eq!(
        err.rule,
        "is required, and must not be empty, for a Secret of type kubernetes.io/ssh-auth"
    );
    assert_err(
        secret().name("k").ssh_auth("").build(),
        "data[ssh-privatekey]",
        "",
    );
}

#[test]
fn service_account_token_secrets_need_the_account_annotation() {
    let err = assert_err(
        secret()
            .name("tok")
            .type_(SecretType::ServiceAccountToken)
            .build(),
        "metadata.annotations[kubernetes.io/service-account.name]",
        "",
    );
    assert_eq!(
        err.rule,
        "is required for a Secret of type kubernetes.io/service-account-token: the name of its \
         ServiceAccount"
    );
    assert_err(
        secret().name("tok").service_account_token("").build(),
        "metadata.annotations[kubernetes.io/service-account.name]",
        "",
    );
    assert!(
        secret()
            .name("tok")
            .type_(SecretType::ServiceAccountToken)
            .annotation("kubernetes.io/service-account.name", "ci")
            .build()
            .is_ok()
    );
}

#[test]
fn other_types_have_no_key_rules() {
    for t in [
        SecretType::Opaque,
        SecretType::BootstrapToken,
        SecretType::Other("example.com/token".into()),
    ] {
        assert!(secret().name("s").type_(t).build().is_ok());
    }
}

#[test]
fn secret_values_never_appear_in_errors() {
    let value = "super-secret-value";
    let attempts = [
        secret().name("Bad").string_data("password", value).build(),
        secret().name("s").string_data("bad key", value).build(),
        secret()
            .name("s")
            .type_(SecretType::Tls)
            .string_data("tls.crt", value)
            .build(),
        secret()
            .name("s")
            .type_(SecretType::DockerConfigJson)
            .string_data(".dockerconfigjson", value)
            .build(),
        secret()
            .name("s")
            .string_data("a", value.repeat(70_000))
            .build(),
    ];
    for attempt in attempts {
        let err = attempt.expect_err("invalid");
        assert!(!err.to_string().contains(value), "{err}");
        assert!(!format!("{err:?}").contains(value), "{err:?}");
    }
}

#[test]
fn parsed_objects_are_validated_with_the_same_rules() -> AnyResult {
    let cm: ConfigMap = manifest::from_yaml_one(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  a: x\nbinaryData:\n  a: eA==\n",
    )?;
    assert_err(validate::validate_config_map(&cm), "binaryData[a]", "a");
    let s: Secret = manifest::from_yaml_one(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: t\ntype: kubernetes.io/tls\nstringData:\n  tls.crt: c\n  tls.key: k\n",
    )?;
    assert!(validate::validate_secret(&s).is_ok());
    let s: Secret = manifest::from_yaml_one(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: t\ntype: kubernetes.io/tls\nstringData:\n  tls.crt: c\n",
    )?;
    assert_err(s.validate(), "data[tls.key]", "");
    Ok(())
}
