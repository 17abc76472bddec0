#[kubekit::test]
fn not_async(client: kubekit::Client) {
    let _ = client;
}

fn main() {}
