#[kubekit::test(fixture("tests/fixtures/web-pod.yaml"))]
async fn typo(client: kubekit::Client) {
    let _ = client;
}

#[kubekit::test(flavor = "single_thread")]
async fn bad_flavor() {}

#[kubekit::test(worker_threads = 4)]
async fn workers_without_multi_thread() {}

fn main() {}
