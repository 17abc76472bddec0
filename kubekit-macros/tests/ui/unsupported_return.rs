#[kubekit::test]
async fn returns_a_number(client: kubekit::Client) -> u32 {
    let _ = client;
    1
}

fn main() {}
