#[kubekit::test(fixtures("tests/fixtures/does-not-exist.yaml"))]
async fn missing(client: kubekit::Client) {
    let _ = client;
}

fn main() {}
