use kubekit::testing::TestNamespace;

#[kubekit::test]
async fn takes_a_string(namespace: String) {
    let _ = namespace;
}

#[kubekit::test]
async fn takes_the_guard_by_value(namespace: TestNamespace) {
    let _ = namespace;
}

fn main() {}
