#[kubekit::test]
struct NotAFunction;

#[kubekit::test]
#[test]
async fn twice() {}

fn main() {}
