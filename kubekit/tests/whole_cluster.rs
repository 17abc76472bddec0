//! The test cluster runs applications, not only pods: every built-in controller acts (Jobs,
//! CronJobs, StatefulSets, DaemonSets, PodDisruptionBudgets, ResourceQuotas), pods find
//! Services by name through cluster DNS, a pod reaches the API server with its
//! ServiceAccount's token (and RBAC decides), a PersistentVolumeClaim binds to a volume
//! that outlives its pod and goes with its claim, an HPA scales on the metrics API, an
//! Ingress routes by host and path, and a LoadBalancer Service gets an address that answers.

use std::time::Duration;

use k8s_openapi::api::{
    apps::v1::{DaemonSet, StatefulSet},
    batch::v1::{CronJob, Job},
    core::v1::{PersistentVolume, PersistentVolumeClaim, Pod, ResourceQuota},
    policy::v1::PodDisruptionBudget,
};
use kubekit::{
    Client, Error,
    client::DeleteOptions,
    exec::ExecOptions,
    testing::{Component, ProviderKind, TestNamespace},
};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const START: Duration = Duration::from_secs(90);

fn images() -> kubekit_testing::Images {
    kubekit_testing::images().expect("the node's images are built")
}

/// A pod that sleeps, of the toolbox image, with `extra` YAML under its spec.
fn sleeper(name: &str, extra: &str) -> String {
    format!(
        "apiVersion: v1
kind: Pod
metadata: {{name: {name}, labels: {{app: {name}}}}}
spec:
  terminationGracePeriodSeconds: 0
{extra}  containers:
  - name: main
    image: {image}
    imagePullPolicy: Never
    command: [sleep, '3600']
",
        image = images().toolbox
    )
}

async fn sh(client: &Client, pod: &str, script: &str) -> Result<(i32, String), Error> {
    let out = client.exec_sh(pod, script, ExecOptions::new()).await?;
    Ok((
        out.code,
        format!("{}{}", out.stdout_str(), out.stderr_str()),
    ))
}

// ---------------------------------------------------------------------------------------
// Controllers
// ---------------------------------------------------------------------------------------

#[kubekit::test]
async fn a_job_runs_to_completion(client: Client) -> TestResult {
    client
        .apply_manifest(&format!(
            "apiVersion: batch/v1
kind: Job
metadata: {{name: count}}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      terminationGracePeriodSeconds: 0
      containers:
      - name: main
        image: {}
        imagePullPolicy: Never
        command: [sh, -c, 'echo counted 3']
",
            images().toolbox
        ))
        .await?;
    let job: Job = client.wait_ready("count", START).await?;
    assert_eq!(job.status.and_then(|s| s.succeeded), Some(1));
    let pods: Vec<Pod> = client.list(("job-name", "count")).await?;
    assert_eq!(pods.len(), 1);
    let name = pods[0].metadata.name.as_deref().ok_or("no name")?;
    let logs = client.logs(name, &Default::default()).await?;
    assert_eq!(logs, "counted 3\n");
    Ok(())
}

#[kubekit::test]
async fn a_cronjob_fires(client: Client) -> TestResult {
    client
        .apply_manifest(&format!(
            "apiVersion: batch/v1
kind: CronJob
metadata: {{name: tick}}
spec:
  schedule: '* * * * *'
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          terminationGracePeriodSeconds: 0
          containers:
          - {{name: main, image: {}, imagePullPolicy: Never, command: ['true']}}
",
            images().toolbox
        ))
        .await?;
    // The schedule fires at the next minute: at most 60 s, plus the controller's resync.
    let cron: CronJob = client
        .wait_until("tick", Duration::from_secs(90), |c: &CronJob| {
            c.status
                .as_ref()
                .is_some_and(|s| s.last_schedule_time.is_some())
        })
        .await?;
    let uid = cron.metadata.uid.ok_or("no uid")?;
    let jobs: Vec<Job> = client.list(()).await?;
    let fired: Vec<_> = jobs
        .iter()
        .filter(|j| {
            j.metadata
                .owner_references
                .iter()
                .flatten()
                .any(|o| o.uid == uid)
        })
        .collect();
    assert!(!fired.is_empty(), "no Job owned by the CronJob: {jobs:?}");
    Ok(())
}

#[kubekit::test]
async fn statefulset_pods_come_up_in_order(client: Client) -> TestResult {
    client
        .apply_manifest(&format!(
            "apiVersion: v1
kind: Service
metadata: {{name: db}}
spec:
  clusterIP: None
  selector: {{app: db}}
  ports: [{{name: web, port: 80}}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {{name: db}}
spec:
  serviceName: db
  replicas: 2
  selector: {{matchLabels: {{app: db}}}}
  template:
    metadata: {{labels: {{app: db}}}}
    spec:
      terminationGracePeriodSeconds: 0
      containers:
      - {{name: main, image: {}, imagePullPolicy: Never, command: [sleep, '3600']}}
",
            images().toolbox
        ))
        .await?;
    let set: StatefulSet = client.wait_ready("db", START).await?;
    assert_eq!(set.status.and_then(|s| s.ready_replicas), Some(2));
    let first: Pod = client.get("db-0").await?;
    let second: Pod = client.get("db-1").await?;
    // OrderedReady: db-1 is created only once db-0 is Ready.
    let ready_at = first
        .status
        .iter()
        .flat_map(|s| s.conditions.iter().flatten())
        .find(|c| c.type_ == "Ready" && c.status == "True")
        .and_then(|c| c.last_transition_time.clone())
        .ok_or("db-0 has no Ready time")?;
    let created = second
        .metadata
        .creation_timestamp
        .ok_or("db-1 has no creation time")?;
    assert!(
        created.0 >= ready_at.0,
        "db-1 created at {:?}, before db-0 was Ready at {:?}",
        created.0,
        ready_at.0
    );
    Ok(())
}

#[kubekit::test]
async fn a_daemonset_runs_on_the_node(client: Client) -> TestResult {
    client
        .apply_manifest(&format!(
            "apiVersion: apps/v1
kind: DaemonSet
metadata: {{name: agent}}
spec:
  selector: {{matchLabels: {{app: agent}}}}
  template:
    metadata: {{labels: {{app: agent}}}}
    spec:
      terminationGracePeriodSeconds: 0
      containers:
      - {{name: main, image: {}, imagePullPolicy: Never, command: [sleep, '3600']}}
",
            images().toolbox
        ))
        .await?;
    let set: DaemonSet = client.wait_ready("agent", START).await?;
    let status = set.status.ok_or("no status")?;
    assert_eq!(status.desired_number_scheduled, 1);
    assert_eq!(status.number_ready, 1);
    let pods: Vec<Pod> = client.list(("app", "agent")).await?;
    assert_eq!(pods.len(), 1);
    assert_eq!(
        pods[0].spec.as_ref().and_then(|s| s.node_name.as_deref()),
        Some(kubekit_testing::NODE_NAME)
    );
    Ok(())
}

#[kubekit::test]
async fn a_pdb_reports_allowed_disruptions(client: Client) -> TestResult {
    client
        .apply_manifest(&format!(
            "apiVersion: apps/v1
kind: Deployment
metadata: {{name: api}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: api}}}}
  template:
    metadata: {{labels: {{app: api}}}}
    spec:
      terminationGracePeriodSeconds: 0
      containers:
      - {{name: main, image: {}, imagePullPolicy: Never, command: [sleep, '3600']}}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {{name: api}}
spec:
  minAvailable: 1
  selector: {{matchLabels: {{app: api}}}}
",
            images().toolbox
        ))
        .await?;
    let pdb: PodDisruptionBudget = client
        .wait_until("api", START, |p: &PodDisruptionBudget| {
            p.status.as_ref().is_some_and(|s| s.current_healthy == 2)
        })
        .await?;
    let status = pdb.status.ok_or("no status")?;
    assert_eq!(status.desired_healthy, 1);
    assert_eq!(status.disruptions_allowed, 1);
    Ok(())
}

#[kubekit::test]
async fn a_resource_quota_counts_and_refuses(client: Client) -> TestResult {
    client
        .apply_manifest(
            "apiVersion: v1\nkind: ResourceQuota\nmetadata: {name: small}\nspec: {hard: {configmaps: '3'}}\n",
        )
        .await?;
    // Every namespace holds kube-root-ca.crt: the quota counts it.
    client
        .wait_until("small", START, |q: &ResourceQuota| {
            q.status
                .as_ref()
                .and_then(|s| s.used.as_ref())
                .and_then(|u| u.get("configmaps"))
                .is_some_and(|n| n.0 == "1")
        })
        .await?;
    for name in ["one", "two"] {
        client
            .apply_manifest(&format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}}}\n"
            ))
            .await?;
    }
    let err = client
        .apply_manifest("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: three}\n")
        .await
        .expect_err("the fourth ConfigMap exceeds the quota");
    let message = err.to_string();
    assert!(message.contains("exceeded quota: small"), "{message}");
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Cluster DNS
// ---------------------------------------------------------------------------------------

#[kubekit::test]
async fn services_are_found_by_name(client: Client, ns: &TestNamespace) -> TestResult {
    ns.require(Component::Dns).await?;
    let nginx = images().nginx;
    client
        .apply_manifest(&format!(
            "apiVersion: apps/v1
kind: Deployment
metadata: {{name: backend}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: backend}}}}
  template:
    metadata: {{labels: {{app: backend}}}}
    spec:
      terminationGracePeriodSeconds: 0
      containers:
      - {{name: web, image: {nginx}, imagePullPolicy: Never, ports: [{{name: http, containerPort: 80}}]}}
---
apiVersion: v1
kind: Service
metadata: {{name: backend}}
spec:
  selector: {{app: backend}}
  ports: [{{name: http, port: 80, targetPort: http}}]
---
apiVersion: v1
kind: Service
metadata: {{name: backend-pods}}
spec:
  clusterIP: None
  selector: {{app: backend}}
  ports: [{{name: http, port: 80, targetPort: http}}]
---
apiVersion: v1
kind: Pod
metadata: {{name: frontend}}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - {{name: web, image: {nginx}, imagePullPolicy: Never}}
"
        ))
        .await?;
    client.wait_deployment_available("backend", START).await?;
    client.wait_pod_ready("frontend", START).await?;
    client.apply_manifest(&sleeper("dig", "")).await?;
    client.wait_pod_ready("dig", START).await?;

    // The frontend calls its backend by the Service's short name, with the namespace, and by
    // its full name (curl, through the pod's resolver and search path).
    let namespace = client.namespace().to_string();
    for host in [
        "backend".to_string(),
        format!("backend.{namespace}"),
        format!("backend.{namespace}.svc.cluster.local"),
    ] {
        let (code, out) = sh(
            &client,
            "frontend",
            &format!("curl -sS -o /dev/null -w '%{{http_code}}' --max-time 5 http://{host}/"),
        )
        .await?;
        assert_eq!((code, out.as_str()), (0, "200"), "GET http://{host}/");
    }

    // The headless Service resolves to each backend pod's IP.
    let mut pod_ips: Vec<String> = client
        .list::<Pod>(("app", "backend"))
        .await?
        .iter()
        .filter_map(|p| p.status.as_ref()?.pod_ip.clone())
        .collect();
    pod_ips.sort();
    assert_eq!(pod_ips.len(), 2);
    let (code, out) = sh(
        &client,
        "dig",
        &format!("nslookup backend-pods.{namespace}.svc.cluster.local"),
    )
    .await?;
    assert_eq!(code, 0, "{out}");
    let mut answered: Vec<String> = out
        .lines()
        .skip_while(|l| !l.starts_with("Name:"))
        .filter_map(|l| l.strip_prefix("Address: "))
        .map(|a| a.trim().to_string())
        .collect();
    answered.sort();
    assert_eq!(answered, pod_ips, "{out}");

    // A name outside the cluster fails at once (no upstream), well before a resolver's
    // timeout: `timeout` kills the lookup after 2 s (exit 137 or 143), so exit 1 is the
    // resolver's own answer.
    let (code, out) = sh(
        &client,
        "dig",
        "timeout -s KILL 2 nslookup kubekit-nothere.example.",
    )
    .await?;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("can't find"), "{out}");
    Ok(())
}

// ---------------------------------------------------------------------------------------
// The API from inside a pod
// ---------------------------------------------------------------------------------------

#[kubekit::test]
async fn a_pod_calls_the_api_with_its_service_account(
    client: Client,
    ns: &TestNamespace,
) -> TestResult {
    ns.require(Component::Dns).await?;
    let nginx = images().nginx;
    let pod = |name: &str, account: &str| {
        format!(
            "apiVersion: v1
kind: Pod
metadata: {{name: {name}}}
spec:
  serviceAccountName: {account}
  terminationGracePeriodSeconds: 0
  containers:
  - {{name: main, image: {nginx}, imagePullPolicy: Never}}
"
        )
    };
    client
        .apply_manifest(&format!(
            "apiVersion: v1
kind: ServiceAccount
metadata: {{name: lister}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {{name: nobody}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {{name: list-pods}}
rules:
- {{apiGroups: [''], resources: [pods], verbs: [list]}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: lister-lists-pods}}
subjects: [{{kind: ServiceAccount, name: lister}}]
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: list-pods}}
---
{}---
{}",
            pod("with-role", "lister"),
            pod("without-role", "nobody")
        ))
        .await?;
    client.wait_pod_ready("with-role", START).await?;
    client.wait_pod_ready("without-role", START).await?;

    // What an in-cluster client does: the `kubernetes` Service's name, the mounted CA and
    // token, the namespace file.
    let call = "sa=/var/run/secrets/kubernetes.io/serviceaccount; \
        curl -sS --max-time 10 --cacert $sa/ca.crt \
        -H \"Authorization: Bearer $(cat $sa/token)\" \
        -w '\\n%{http_code}' \
        https://kubernetes.default.svc/api/v1/namespaces/$(cat $sa/namespace)/pods";
    let (code, out) = sh(&client, "with-role", call).await?;
    assert_eq!(code, 0, "{out}");
    let (body, status) = out.trim_end().rsplit_once('\n').ok_or("no status line")?;
    assert_eq!(status, "200", "{out}");
    let list: serde_json::Value = serde_json::from_str(body)?;
    let mut names: Vec<&str> = list["items"]
        .as_array()
        .ok_or("no items")?
        .iter()
        .filter_map(|p| p["metadata"]["name"].as_str())
        .collect();
    names.sort();
    assert_eq!(names, ["with-role", "without-role"]);

    let (code, out) = sh(&client, "without-role", call).await?;
    assert_eq!(code, 0, "{out}");
    assert!(out.trim_end().ends_with("\n403"), "{out}");
    assert!(
        out.contains(&format!(
            "system:serviceaccount:{}:nobody",
            client.namespace()
        )),
        "{out}"
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Storage
// ---------------------------------------------------------------------------------------

#[kubekit::test]
async fn a_volume_outlives_its_pod_and_goes_with_its_claim(
    client: Client,
    ns: &TestNamespace,
) -> TestResult {
    ns.require(Component::Storage).await?;
    let claim = "apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 16Mi}}
";
    let with_volume = "  volumes: [{name: data, persistentVolumeClaim: {claimName: data}}]\n";
    let writer = sleeper("writer", with_volume).replace(
        "    command: [sleep, '3600']\n",
        "    command: [sleep, '3600']\n    volumeMounts: [{name: data, mountPath: /data}]\n",
    );
    client
        .apply_manifest(&format!("{claim}---\n{writer}"))
        .await?;
    client.wait_pod_ready("writer", START).await?;
    let pvc: PersistentVolumeClaim = client.wait_ready("data", START).await?;
    let volume = pvc
        .spec
        .and_then(|s| s.volume_name)
        .ok_or("the claim names no volume")?;
    let cluster = Client::from_config(ns.cluster().config().clone())?;
    let pv: PersistentVolume = cluster.get(&volume).await?;
    let spec = pv.spec.ok_or("no spec")?;
    let dir = spec
        .host_path
        .map(|h| h.path)
        .or(spec.local.map(|l| l.path))
        .ok_or("the volume is neither hostPath nor local")?;
    // The local provider's node is this machine: its volume directories are visible here.
    let node_here = ns.cluster().provider() == ProviderKind::Local;
    if node_here {
        assert!(std::path::Path::new(&dir).is_dir(), "{dir} is not there");
    }
    let (code, out) = sh(&client, "writer", "echo kept > /data/file && sync").await?;
    assert_eq!(code, 0, "{out}");

    client
        .delete::<Pod>("writer", DeleteOptions::wait(START))
        .await?;
    let reader = writer.replace("name: writer", "name: reader");
    client.apply_manifest(&reader).await?;
    client.wait_pod_ready("reader", START).await?;
    let (code, out) = sh(&client, "reader", "cat /data/file").await?;
    assert_eq!((code, out.as_str()), (0, "kept\n"));

    // Deleting the claim deletes the volume (reclaim policy Delete): the provisioner removes
    // its directory with a helper pod, then the PersistentVolume.
    client
        .delete::<Pod>("reader", DeleteOptions::wait(START))
        .await?;
    client
        .delete::<PersistentVolumeClaim>("data", DeleteOptions::wait(START))
        .await?;
    cluster
        .wait_deleted::<PersistentVolume>(&volume, START)
        .await?;
    if node_here {
        assert!(!std::path::Path::new(&dir).exists(), "{dir} is still there");
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Resource metrics
// ---------------------------------------------------------------------------------------

#[kubekit::test]
async fn an_hpa_scales_on_cpu_up_and_back_down(client: Client, ns: &TestNamespace) -> TestResult {
    ns.require(Component::Metrics).await?;
    // The load: a busy loop capped at a tenth of a core per pod (the machine has two), against
    // a request of 20m, i.e. about 500% of the request.
    let deployment = |command: &str| {
        format!(
            "apiVersion: apps/v1
kind: Deployment
metadata: {{name: burn}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: burn}}}}
  template:
    metadata: {{labels: {{app: burn}}}}
    spec:
      terminationGracePeriodSeconds: 0
      containers:
      - name: main
        image: {image}
        imagePullPolicy: Never
        command: [sh, -c, '{command}']
        resources: {{requests: {{cpu: 20m}}, limits: {{cpu: 100m}}}}
",
            image = images().toolbox
        )
    };
    client
        .apply_manifest(&format!(
            "{}---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {{name: burn}}
spec:
  scaleTargetRef: {{apiVersion: apps/v1, kind: Deployment, name: burn}}
  minReplicas: 1
  maxReplicas: 3
  metrics:
  - type: Resource
    resource: {{name: cpu, target: {{type: Utilization, averageUtilization: 50}}}}
  behavior:
    scaleDown: {{stabilizationWindowSeconds: 0}}
",
            deployment("while :; do :; done")
        ))
        .await?;
    client.wait_deployment_available("burn", START).await?;

    // `kubectl top pod`: the metrics API reports the pod's usage once it has been scraped.
    let pod_metrics = kube::discovery::ApiResource {
        group: "metrics.k8s.io".into(),
        version: "v1beta1".into(),
        api_version: "metrics.k8s.io/v1beta1".into(),
        kind: "PodMetrics".into(),
        plural: "pods".into(),
    };
    let metrics: kube::Api<kube::api::DynamicObject> =
        kube::Api::namespaced_with(client.kube().clone(), client.namespace(), &pod_metrics);
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    let usage = loop {
        let listed = metrics.list(&Default::default()).await?;
        let cpu = listed.items.iter().find_map(|m| {
            m.data["containers"][0]["usage"]["cpu"]
                .as_str()
                .map(String::from)
        });
        if let Some(cpu) = cpu {
            break cpu;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no pod metrics after 90 s"
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
    };
    assert!(
        usage.ends_with('n') || usage.ends_with('m'),
        "cpu usage {usage}"
    );

    // Up: the HPA sees about 500% of the request and scales to its maximum.
    let hpa = client
        .wait_until(
            "burn",
            Duration::from_secs(150),
            |h: &k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler| {
                h.status.as_ref().is_some_and(|s| s.desired_replicas == 3)
            },
        )
        .await?;
    let current = hpa
        .status
        .and_then(|s| s.current_metrics)
        .and_then(|m| m.into_iter().next())
        .and_then(|m| m.resource)
        .and_then(|r| r.current.average_utilization)
        .ok_or("the HPA reports no current CPU utilization")?;
    assert!(current > 50, "utilization {current}%");

    // Down: without the load (the pods now sleep), back to one replica.
    client
        .apply_manifest(&deployment("sleep 3600").replace("  replicas: 1\n", ""))
        .await?;
    client
        .wait_until(
            "burn",
            Duration::from_secs(180),
            |h: &k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler| {
                h.status.as_ref().is_some_and(|s| s.desired_replicas == 1)
            },
        )
        .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Ingress
// ---------------------------------------------------------------------------------------

/// An nginx Deployment and Service `name` whose pages (`/` and `/api/`) say `name`.
fn site(name: &str) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}}}
spec:
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      terminationGracePeriodSeconds: 0
      containers:
      - name: web
        image: {image}
        imagePullPolicy: Never
        ports: [{{name: http, containerPort: 80}}]
        command: [sh, -c, 'mkdir -p /var/www/html/api && echo {name} > /var/www/html/index.html && echo {name} > /var/www/html/api/index.html && exec nginx -g \"daemon off;\"']
---
apiVersion: v1
kind: Service
metadata: {{name: {name}}}
spec:
  selector: {{app: {name}}}
  ports: [{{name: http, port: 80, targetPort: http}}]
---
",
        image = images().nginx
    )
}

/// `GET path` with `Host: host` at `addr` from this process: the status code and the body.
async fn http_get(
    addr: std::net::SocketAddr,
    host: &str,
    path: &str,
) -> std::io::Result<(u16, String)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").as_bytes())
        .await?;
    let mut answer = String::new();
    s.read_to_string(&mut answer).await?;
    let code = answer
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.trim().to_string())
        .unwrap_or_default();
    Ok((code, body))
}

#[kubekit::test]
async fn an_ingress_routes_by_host_and_path(client: Client, ns: &TestNamespace) -> TestResult {
    ns.require(Component::Ingress).await?;
    // No ingressClassName: the cluster's default class takes it, as on k3s.
    client
        .apply_manifest(&format!(
            "{}{}apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {{name: shop}}
spec:
  rules:
  - host: shop.test
    http:
      paths:
      - {{path: /api, pathType: Prefix, backend: {{service: {{name: api, port: {{name: http}}}}}}}}
      - {{path: /, pathType: Prefix, backend: {{service: {{name: web, port: {{number: 80}}}}}}}}
",
            site("web"),
            site("api")
        ))
        .await?;
    client.wait_deployment_available("web", START).await?;
    client.wait_deployment_available("api", START).await?;
    // A pod with curl (the nginx image's).
    client
        .apply_manifest(&format!(
            "apiVersion: v1
kind: Pod
metadata: {{name: visitor}}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - {{name: main, image: {}, imagePullPolicy: Never}}
",
            images().nginx
        ))
        .await?;
    client.wait_pod_ready("visitor", START).await?;

    // The controller took it (the default class) and published its address.
    let ingress = client
        .wait_until(
            "shop",
            START,
            |i: &k8s_openapi::api::networking::v1::Ingress| {
                i.status
                    .as_ref()
                    .and_then(|s| s.load_balancer.as_ref()?.ingress.as_ref())
                    .is_some_and(|list| list.iter().any(|a| a.ip.is_some()))
            },
        )
        .await?;
    let class = ingress
        .spec
        .as_ref()
        .and_then(|s| s.ingress_class_name.clone());
    assert_eq!(
        class.as_deref(),
        Some("traefik"),
        "the default IngressClass"
    );
    let address = ingress
        .status
        .and_then(|s| s.load_balancer?.ingress?.into_iter().find_map(|a| a.ip))
        .ok_or("no address")?;

    // From a pod: by host and path, plain and TLS (Traefik's default certificate); another
    // host is not routed. Routes apply a moment after the status is written: retry briefly.
    let cases = [
        ("http", "shop.test", "/", "200 web"),
        ("http", "shop.test", "/api/", "200 api"),
        ("https", "shop.test", "/api/", "200 api"),
        ("http", "other.test", "/", "404"),
    ];
    for (scheme, host, path, want) in cases {
        let port = if scheme == "https" { 443 } else { 80 };
        let script = format!(
            "curl -ksS --max-time 5 --resolve {host}:{port}:{address} \
             -w '%{{http_code}} ' -o /tmp/body {scheme}://{host}{path}; cat /tmp/body"
        );
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let (_, out) = sh(&client, "visitor", &script).await?;
            let got = if want == "404" {
                out.split(' ').next().unwrap_or_default().to_string()
            } else {
                out.trim().to_string()
            };
            if got == want {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{scheme}://{host}{path} via {address}: want {want:?}, got {out:?}"
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    // From this machine, through the loopback address the cluster reports.
    let local = ns
        .cluster()
        .ingress()
        .ok_or("the cluster reports no ingress address")?;
    assert!(
        local.http.ip().is_loopback() && local.https.ip().is_loopback(),
        "{local:?}"
    );
    assert_eq!(
        http_get(local.http, "shop.test", "/api/").await?,
        (200, "api".to_string())
    );
    assert_eq!(http_get(local.http, "other.test", "/").await?.0, 404);
    if ns.cluster().provider() == ProviderKind::Local {
        assert_eq!(address, kubekit_testing::NODE_IP);
    }
    Ok(())
}

// LoadBalancer Services
// ---------------------------------------------------------------------------------------

/// A `type: LoadBalancer` Service `name` for the pods of [`site`] `app`, on `port` (TCP) and,
/// when asked, a UDP port the load balancer cannot serve.
fn load_balancer(name: &str, app: &str, port: u16, udp: bool) -> String {
    let udp = if udp {
        ", {name: dns, port: 5353, protocol: UDP, targetPort: 5353}"
    } else {
        ""
    };
    format!(
        "apiVersion: v1
kind: Service
metadata: {{name: {name}}}
spec:
  type: LoadBalancer
  selector: {{app: {app}}}
  ports: [{{name: http, port: {port}, targetPort: http}}{udp}]
---
"
    )
}

/// The address a LoadBalancer Service reports, once it has one.
async fn load_balancer_ip(
    client: &Client,
    name: &str,
) -> Result<std::net::IpAddr, Box<dyn std::error::Error>> {
    use k8s_openapi::api::core::v1::Service;
    let service = client
        .wait_until(name, START, |s: &Service| {
            s.status
                .as_ref()
                .and_then(|s| s.load_balancer.as_ref()?.ingress.as_ref())
                .is_some_and(|list| list.iter().any(|a| a.ip.is_some()))
        })
        .await?;
    let ingress = service
        .status
        .and_then(|s| s.load_balancer?.ingress?.into_iter().next())
        .ok_or("no ingress")?;
    assert_eq!(
        ingress.ip_mode.as_deref(),
        Some("Proxy"),
        "{name}: {ingress:?}"
    );
    Ok(ingress.ip.ok_or("no ip")?.parse()?)
}

/// `GET /` at `addr` until it answers 200 with `body` (a Service's endpoints and kube-proxy's
/// rules follow a moment after its status); fails after 30 s.
async fn answers(addr: std::net::SocketAddr, body: &str) -> TestResult {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let got = http_get(addr, "lb.test", "/").await;
        match &got {
            Ok((200, b)) if b == body => return Ok(()),
            _ if std::time::Instant::now() > deadline => {
                return Err(format!("{addr}: want 200 {body:?}, got {got:?}").into());
            }
            _ => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
}

/// Whether nothing listens at `addr` any more (within 10 s).
async fn refused(addr: std::net::SocketAddr) -> TestResult {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        match tokio::net::TcpStream::connect(addr).await {
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => return Ok(()),
            other if std::time::Instant::now() > deadline => {
                return Err(format!("{addr}: still open after 10 s ({other:?})").into());
            }
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

#[kubekit::test]
async fn a_load_balancer_service_gets_an_address_and_answers(
    client: Client,
    ns: &TestNamespace,
) -> TestResult {
    use k8s_openapi::api::core::v1::Service;
    ns.require(Component::ServiceLb).await?;
    client
        .apply_manifest(&format!(
            "{}{}{}{}",
            site("web"),
            site("api"),
            load_balancer("web-lb", "web", 8080, true),
            load_balancer("api-lb", "api", 8081, false)
        ))
        .await?;
    client.wait_deployment_available("web", START).await?;
    client.wait_deployment_available("api", START).await?;
    let web = load_balancer_ip(&client, "web-lb").await?;
    let api = load_balancer_ip(&client, "api-lb").await?;
    if ns.cluster().provider() == ProviderKind::Local {
        // One loopback address each, from kubekit's range.
        for ip in [web, api] {
            assert!(
                ip.to_string().starts_with("127.77."),
                "{ip} is not in {}",
                kubekit_testing::LB_RANGE
            );
        }
        assert_ne!(web, api, "two Services share an address");
    }
    answers((web, 8080).into(), "web").await?;
    answers((api, 8081).into(), "api").await?;

    // The UDP port is reported as not served; the TCP port without an error.
    let status = client.get::<Service>("web-lb").await?.status;
    let ports = status
        .and_then(|s| s.load_balancer?.ingress?.into_iter().next()?.ports)
        .ok_or("no port statuses")?;
    let error = |port: i32| {
        ports
            .iter()
            .find(|p| p.port == port)
            .map(|p| p.error.clone())
    };
    assert_eq!(error(8080), Some(None), "{ports:?}");
    assert_eq!(
        error(5353),
        Some(Some(kubekit_testing::UNSUPPORTED_PROTOCOL.to_string())),
        "{ports:?}"
    );

    // A new port is served and the old one closed; the address stays.
    client
        .apply_manifest(&load_balancer("api-lb", "api", 9090, false))
        .await?;
    answers((api, 9090).into(), "api").await?;
    refused((api, 8081).into()).await?;
    assert_eq!(load_balancer_ip(&client, "api-lb").await?, api);

    // No longer a LoadBalancer: the address goes from the status and stops answering.
    client
        .apply_manifest(
            "apiVersion: v1
kind: Service
metadata: {name: api-lb}
spec:
  type: ClusterIP
  selector: {app: api}
  ports: [{name: http, port: 9090, targetPort: http}]
",
        )
        .await?;
    client
        .wait_until("api-lb", START, |s: &Service| {
            s.status
                .as_ref()
                .and_then(|s| s.load_balancer.as_ref()?.ingress.as_ref())
                .is_none_or(|list| list.is_empty())
        })
        .await?;
    refused((api, 9090).into()).await?;

    // Deleted: its port closes.
    client
        .delete::<Service>("web-lb", DeleteOptions::default())
        .await?;
    refused((web, 8080).into()).await
}
