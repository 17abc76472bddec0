//! Peak memory and time of reading a large manifest stream: about 50 MB of ~255,000 small
//! documents (ConfigMaps, Services, Secrets, ServiceAccounts and a custom resource), read by
//! `kubekit::manifest::from_yaml`, by `kubekit::manifest::read` and by serde-saphyr (the
//! whole stream to `serde_json::Value`s, and its own streaming `read`).
//!
//! Each reader runs in a child process of its own (this binary, started again with
//! `--child MODE FILE`), which reports its peak resident memory (`VmHWM` in
//! `/proc/self/status`) when done; the parent prints one table. Run with:
//!
//! ```sh
//! cargo run --release -p kubekit --no-default-features --example manifest_memory
//! ```
//!
//! `KUBEKIT_MEMORY_DOCUMENTS` sets the number of documents (default 255,000).
#![allow(clippy::unwrap_used)]

use std::fmt::Write as _;
use std::io::BufReader;
use std::process::Command;
use std::time::Instant;

/// The readers compared, each run in its own process.
const MODES: &[(&str, &str)] = &[
    ("baseline", "the input read into a String, nothing parsed"),
    (
        "from_yaml",
        "kubekit `manifest::from_yaml(&text)`, all objects kept",
    ),
    (
        "read",
        "kubekit `manifest::read(file)`, objects dropped as read",
    ),
    (
        "read_collect",
        "kubekit `manifest::read(file)`, all objects kept",
    ),
    (
        "saphyr_from_multiple",
        "serde-saphyr `from_multiple::<Value>(&text)`, all kept",
    ),
    (
        "saphyr_read",
        "serde-saphyr `read::<_, Value>(file)`, dropped as read",
    ),
];

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let [_, flag, mode, file] = args.as_slice()
        && flag == "--child"
    {
        child(mode, file);
        return;
    }
    let documents: usize = std::env::var("KUBEKIT_MEMORY_DOCUMENTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(255_000);
    let input = generate(documents);
    let path = std::env::temp_dir().join(format!("kubekit-manifest-memory-{documents}.yaml"));
    std::fs::write(&path, &input).unwrap();
    let mb = input.len() as f64 / 1e6;
    println!(
        "input: {documents} documents, {:.1} MB ({} bytes), {}",
        mb,
        input.len(),
        path.display()
    );
    {
        use k8s_openapi::api::core::v1::{ConfigMap, Secret, Service, ServiceAccount};
        use std::mem::size_of;
        println!(
            "size_of: Object {}, ConfigMap {}, Service {}, Secret {}, ServiceAccount {}, \
             DynamicObject {} bytes",
            size_of::<kubekit::manifest::Object>(),
            size_of::<ConfigMap>(),
            size_of::<Service>(),
            size_of::<Secret>(),
            size_of::<ServiceAccount>(),
            size_of::<kubekit::manifest::DynamicObject>(),
        );
    }
    drop(input);
    let exe = std::env::current_exe().unwrap();
    let mut rows = Vec::new();
    for (mode, what) in MODES {
        let output = Command::new(&exe)
            .args(["--child", mode, path.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{mode}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let text = String::from_utf8(output.stdout).unwrap();
        let field = |name: &str| -> f64 {
            text.split_whitespace()
                .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
                .unwrap()
                .parse()
                .unwrap()
        };
        rows.push((
            *mode,
            *what,
            field("peak_kib"),
            field("seconds"),
            field("objects"),
        ));
    }
    let saphyr = rows
        .iter()
        .find(|row| row.0 == "saphyr_from_multiple")
        .map_or(1.0, |row| row.2);
    let mut table = String::from(
        "| reader | objects | time | peak RSS | peak / input | peak / serde-saphyr from_multiple |\n\
         |---|---:|---:|---:|---:|---:|\n",
    );
    for (mode, what, peak, seconds, objects) in rows {
        writeln!(
            table,
            "| `{mode}`: {what} | {objects} | {seconds:.2} s | {:.0} MB | {:.1}x | {:.2}x |",
            peak / 1024.0,
            peak * 1024.0 / 1e6 / mb,
            peak / saphyr,
        )
        .unwrap();
    }
    print!("{table}");
    std::fs::remove_file(&path).ok();
}

/// Reads `file` the way `mode` says, then prints its peak RSS, the time taken and the number
/// of objects.
fn child(mode: &str, file: &str) {
    let start = Instant::now();
    let objects = match mode {
        "baseline" => {
            let text = std::fs::read_to_string(file).unwrap();
            std::hint::black_box(&text);
            0
        }
        "from_yaml" => {
            let text = std::fs::read_to_string(file).unwrap();
            let objects = kubekit::manifest::from_yaml(&text).unwrap();
            std::hint::black_box(&objects);
            objects.len()
        }
        "read" => {
            let reader = BufReader::new(std::fs::File::open(file).unwrap());
            let mut count = 0;
            for object in kubekit::manifest::read(reader) {
                std::hint::black_box(object.unwrap());
                count += 1;
            }
            count
        }
        "read_collect" => {
            let reader = BufReader::new(std::fs::File::open(file).unwrap());
            let objects = kubekit::manifest::read(reader)
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
            std::hint::black_box(&objects);
            objects.len()
        }
        "saphyr_from_multiple" => {
            let text = std::fs::read_to_string(file).unwrap();
            let values: Vec<serde_json::Value> =
                serde_saphyr::from_multiple_with_options(&text, unbounded()).unwrap();
            std::hint::black_box(&values);
            values.len()
        }
        "saphyr_read" => {
            let mut reader = BufReader::new(std::fs::File::open(file).unwrap());
            let mut count = 0;
            for value in
                serde_saphyr::read_with_options::<_, serde_json::Value>(&mut reader, unbounded())
            {
                std::hint::black_box(value.unwrap());
                count += 1;
            }
            count
        }
        other => panic!("unknown mode {other}"),
    };
    let seconds = start.elapsed().as_secs_f64();
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let peak_kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .unwrap();
    println!("peak_kib={peak_kib} seconds={seconds:.3} objects={objects}");
}

/// serde-saphyr's options without its budget (it stops at 1,024 documents by default).
fn unbounded() -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_documents = usize::MAX;
    budget.max_events = usize::MAX;
    budget.max_nodes = usize::MAX;
    budget.max_total_scalar_bytes = usize::MAX;
    budget.max_reader_input_bytes = None;
    serde_saphyr::options! { budget: Some(budget) }
}

/// `documents` small documents, about 200 bytes each, of five kinds in turn.
fn generate(documents: usize) -> String {
    let mut out = String::with_capacity(documents * 210);
    for index in 0..documents {
        if index > 0 {
            out.push_str("---\n");
        }
        let _ = match index % 5 {
            0 => write!(
                out,
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings-{index}\n  \
                 namespace: shop\n  labels:\n    app: web\n    app.kubernetes.io/part-of: shop-frontend\ndata:\n  mode: fast\n  \
                 replicas: \"{index}\"\n"
            ),
            1 => write!(
                out,
                "apiVersion: v1\nkind: Service\nmetadata:\n  name: web-{index}\n  \
                 namespace: shop\n  labels:\n    app.kubernetes.io/part-of: shop-frontend\nspec:\n  selector:\n    app: web\n  ports:\n    - port: 80\n      \
                 targetPort: 8080\n"
            ),
            2 => write!(
                out,
                "apiVersion: v1\nkind: Secret\nmetadata:\n  name: token-{index}\n  \
                 namespace: shop\n  labels:\n    app.kubernetes.io/part-of: shop-frontend\ntype: Opaque\ndata:\n  token: c2VjcmV0LXZhbHVl\n"
            ),
            3 => write!(
                out,
                "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: robot-{index}\n  \
                 namespace: shop\n  labels:\n    app.kubernetes.io/part-of: shop-frontend\n  annotations:\n    owner: team-a\n"
            ),
            _ => write!(
                out,
                "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: widget-{index}\n  \
                 namespace: shop\n  labels:\n    app.kubernetes.io/part-of: shop-frontend\nspec:\n  size: {index}\n  color: blue\n  enabled: true\n"
            ),
        };
    }
    out
}
