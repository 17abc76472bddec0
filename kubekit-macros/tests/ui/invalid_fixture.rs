// trybuild compiles this file in target/tests/trybuild/kubekit-macros, its CARGO_MANIFEST_DIR,
// so the fixtures are reached from there.
#[kubekit::test(fixtures(
    "../../../../kubekit-macros/tests/ui/fixtures/bad-yaml.yaml",
    "../../../../kubekit-macros/tests/ui/fixtures/no-kind.yaml"
))]
async fn invalid(client: kubekit::Client) {
    let _ = client;
}

fn main() {}
