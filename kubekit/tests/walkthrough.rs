//! The walkthrough (`kubectl` study note), step by step, against the real cluster: each test
//! is one or two of its rows, with kubekit, on real pods.

use std::{error::Error, time::Duration};

use k8s_openapi::api::core::v1::Pod;
use kubekit::{
    Client,
    builders::{ContainerPort, PullPolicy, container, pod},
    client::{ApiResourceInfo, ApplyOutcome, DeleteOptions, table},
    exec::ExecOptions,
    logs::LogOptions,
    manifest,
    portforward::{PortForwardOptions, PortForwardTarget},
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

type TestResult = Result<(), Box<dyn Error>>;

const WAIT: Duration = Duration::from_secs(90);
const WEB_POD_YAML: &str = include_str!("../../examples/web-pod.yaml");

/// Step 3's pod, with the locally built nginx (nginx:1.28 cannot be pulled here).
async fn run_web(client: &Client) -> Result<Pod, Box<dyn Error>> {
    let images = kubekit::testing::images()?;
    let web = pod()
        .name("web")
        .label("run", "web")
        .container(
            container()
                .name("web")
                .image(&images.nginx)
                .pull_policy(PullPolicy::Never)
                .port(ContainerPort::new(80))
                .build()?,
        )
        .build()?;
    assert_eq!(client.apply(&web).await?.outcome, ApplyOutcome::Created);
    Ok(client.wait_pod_ready("web", WAIT).await?)
}

#[kubekit::test]
async fn step_01_api_resources(client: Client) -> TestResult {
    let resources = client.api_resources().await?;
    let pods = resources
        .iter()
        .find(|r| r.name == "pods")
        .ok_or("no pods")?;
    assert!(pods.namespaced);
    assert_eq!(
        (pods.kind.as_str(), pods.api_version.as_str()),
        ("Pod", "v1")
    );
    assert!(
        resources
            .iter()
            .any(|r| r.name == "deployments" && r.api_version == "apps/v1")
    );
    let table = ApiResourceInfo::table(&resources);
    assert!(table.starts_with("NAME"), "{table}");
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("services ") && l.contains("svc"))
    );
    Ok(())
}

#[kubekit::test]
async fn step_03_05_06_run_web_and_list_pods(client: Client) -> TestResult {
    let web = run_web(&client).await?;
    let ip = web
        .status
        .as_ref()
        .and_then(|s| s.pod_ip.clone())
        .ok_or("no IP")?;

    let pods: Vec<Pod> = client.list(()).await?;
    let plain = table::pods(&pods);
    let row = plain.lines().nth(1).ok_or("no row")?;
    assert!(
        row.starts_with("web ") && row.contains("1/1") && row.contains("Running"),
        "{plain}"
    );

    let wide = table::pods_wide(&pods);
    assert!(
        wide.lines()
            .next()
            .is_some_and(|h| h.contains("IP") && h.contains("NODE"))
    );
    assert!(
        wide.contains(&ip) && wide.contains(kubekit::testing::NODE_NAME),
        "{wide}"
    );
    Ok(())
}

#[kubekit::test]
async fn step_04_port_forward_and_fetch_the_page(client: Client) -> TestResult {
    run_web(&client).await?;
    let forward = client
        .port_forward(PortForwardTarget::pod("web"), 80, PortForwardOptions::new())
        .await?;
    assert!(forward.local_addr().ip().is_loopback());
    let mut tcp = tokio::net::TcpStream::connect(forward.local_addr()).await?;
    tcp.write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .await?;
    let mut page = String::new();
    tcp.read_to_string(&mut page).await?;
    assert!(page.starts_with("HTTP/1.1 200 OK"), "{page}");
    assert!(page.contains("<title>Welcome to nginx!</title>"));
    forward.stop().await;
    Ok(())
}

#[kubekit::test]
async fn step_08_09_shell_and_curl_localhost_inside_the_pod(client: Client) -> TestResult {
    run_web(&client).await?;
    // Step 8: a shell in the pod (its commands on stdin, as `kubectl exec -i` gives them).
    let shell = client
        .exec(
            "web",
            ["/bin/bash"],
            ExecOptions::new().stdin("echo \"in $(hostname)\"; exit 3\n"),
        )
        .await?;
    assert_eq!((shell.stdout_str().trim(), shell.code), ("in web", 3));
    // Step 9: curl localhost from inside the container.
    let curl = client
        .exec_ok("web", ["curl", "-s", "localhost"], ExecOptions::new())
        .await?;
    assert!(curl.stdout_str().contains("<h1>Welcome to nginx!</h1>"));
    Ok(())
}

#[kubekit::test]
async fn step_02_logs_of_the_pod(client: Client) -> TestResult {
    run_web(&client).await?;
    client
        .exec_ok(
            "web",
            ["curl", "-s", "localhost/step-two"],
            ExecOptions::new(),
        )
        .await?;
    let logs = client
        .logs("web", &LogOptions::new().tail(5).timestamps(true))
        .await?;
    let line = logs
        .lines()
        .find(|l| l.contains("GET /step-two"))
        .ok_or(logs.clone())?;
    assert!(line.starts_with("20"), "timestamps first: {line}");
    Ok(())
}

#[kubekit::test]
async fn step_10_07_apply_web_pod_yaml_and_get_it_as_yaml(client: Client) -> TestResult {
    // The note's manifest written with the builders is the same object as the file.
    let typed = pod()
        .name("web2")
        .container(
            container()
                .name("web")
                .image("nginx:1.28")
                .pull_policy(PullPolicy::IfNotPresent)
                .port(ContainerPort::new(80))
                .build()?,
        )
        .build()?;
    assert_eq!(typed, manifest::from_yaml_one::<Pod>(WEB_POD_YAML)?);

    let images = kubekit::testing::images()?;
    let report = client
        .apply_manifest(&WEB_POD_YAML.replace("nginx:1.28", &images.nginx))
        .await?;
    assert_eq!(report.to_string(), "pod/web2 created\n");
    client.wait_pod_running("web2", WAIT).await?;

    let yaml = manifest::to_yaml(&client.get::<Pod>("web2").await?)?;
    assert!(
        yaml.starts_with("apiVersion: v1\nkind: Pod\nmetadata:\n"),
        "{yaml}"
    );
    let back: Pod = manifest::from_yaml_one(&yaml)?;
    assert_eq!(
        back.status.and_then(|s| s.phase).as_deref(),
        Some("Running")
    );
    Ok(())
}

#[kubekit::test]
async fn step_12_11_delete_a_pod_then_everything(client: Client) -> TestResult {
    run_web(&client).await?;
    let images = kubekit::testing::images()?;
    client
        .apply_manifest(&WEB_POD_YAML.replace("nginx:1.28", &images.nginx))
        .await?;

    client
        .delete::<Pod>("web", DeleteOptions::wait(WAIT))
        .await?;
    assert!(client.get_opt::<Pod>("web").await?.is_none());

    let report = client.delete_all_with(DeleteOptions::wait(WAIT)).await?;
    assert_eq!(report.deleted.len(), 1, "{:?}", report.deleted);
    assert!(client.list::<Pod>(()).await?.is_empty());
    Ok(())
}
