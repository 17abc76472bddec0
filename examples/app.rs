//! A whole application from Rust, consistent by construction: a web Deployment with its
//! Service and Ingress, a worker reading a queue Service, a Postgres-style StatefulSet with a
//! claim per pod and its headless Service, a migration Job, a nightly CronJob, a ConfigMap and
//! a Secret, a ServiceAccount with a Role, an autoscaler, a disruption budget and
//! NetworkPolicies that let only web (and the migration) reach the database.
//!
//! Every reference is made from the object it refers to (selectors, Service ports, env keys,
//! claim templates, the headless Service's name, the ServiceAccount, the RoleBinding), so a
//! rename or a typo fails when the app is built, not when it runs.
//!
//! ```text
//! cargo run -p kubekit-examples --example app             # prints the manifest stream
//! cargo run -p kubekit-examples --example app -- --apply  # applies it to the test cluster,
//!                                                         # waits until all of it is ready
//! ```

use std::time::Duration;

use k8s_openapi::api::{
    apps::v1::{Deployment, StatefulSet},
    batch::v1::Job,
    core::v1::PersistentVolumeClaim,
};
use kubekit::{
    Client,
    builders::{PullPolicy, namespace},
    manifest::{self, Object},
};
use shop::{Images, app};

mod shop;

/// The namespace the app lives in.
const NAMESPACE: &str = "shop";
/// How long `--apply` waits for each part to be ready.
const WAIT: Duration = Duration::from_secs(180);

/// The test cluster's locally built images (no registry is reachable there).
fn local_images(images: &kubekit_testing::Images) -> Images {
    Images {
        web: images.nginx.clone(),
        db: images.toolbox.clone(),
        tool: images.toolbox.clone(),
        pull: Some(PullPolicy::Never),
        db_command: vec![
            "sh".into(),
            "-c".into(),
            "echo ready > /var/lib/postgresql/data/health && \
             exec httpd -f -p 5432 -h /var/lib/postgresql/data"
                .into(),
        ],
    }
}

/// Waits until `object` is ready by its kind's rule (the kinds that have something to wait
/// for; the others are ready once they exist).
async fn wait_ready(client: &Client, object: &Object) -> kubekit::Result<()> {
    let name = object.name().unwrap_or_default();
    match object {
        Object::Deployment(_) => drop(client.wait_ready::<Deployment>(name, WAIT).await?),
        Object::StatefulSet(_) => {
            client.wait_ready::<StatefulSet>(name, WAIT).await?;
            // Its pod's claim, made from the claim template.
            client
                .wait_ready::<PersistentVolumeClaim>(&format!("data-{name}-0"), WAIT)
                .await?;
        }
        Object::Job(_) => drop(client.wait_ready::<Job>(name, WAIT).await?),
        _ => {}
    }
    Ok(())
}

#[tokio::main]
async fn main() -> kubekit::Result<()> {
    let mut objects: Vec<Object> = vec![namespace().name(NAMESPACE).build()?.into()];
    if !std::env::args().any(|a| a == "--apply") {
        objects.extend(app(&Images::public(), NAMESPACE)?);
        print!("{}", manifest::to_yaml_all(&objects)?);
        return Ok(());
    }
    let cluster = kubekit_testing::Cluster::shared().await?;
    let images = local_images(&kubekit_testing::images()?);
    let client = Client::from_config(cluster.config().clone())?.in_namespace(NAMESPACE);
    objects.extend(app(&images, NAMESPACE)?);
    let report = client
        .apply_manifest(&manifest::to_yaml_all(&objects)?)
        .await?;
    println!("applied {} objects", report.objects.len());
    for object in &objects {
        wait_ready(&client, object).await?;
        println!(
            "ready: {} {}",
            object.kind(),
            object.name().unwrap_or_default()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The manifest stream the example prints (after its Namespace), reviewed once and kept.
    #[test]
    fn the_app_manifest() -> kubekit::Result<()> {
        insta::assert_snapshot!(manifest::to_yaml_all(&app(&Images::public(), NAMESPACE)?)?);
        Ok(())
    }

    /// Every object is valid by its kind's rules and reads back unchanged.
    #[test]
    fn the_app_reads_back_unchanged() -> kubekit::Result<()> {
        let objects = app(&Images::public(), NAMESPACE)?;
        for object in &objects {
            object.validate()?;
        }
        let yaml = manifest::to_yaml_all(&objects)?;
        assert_eq!(manifest::from_yaml(&yaml)?, objects);
        Ok(())
    }

    /// The app on a real cluster, in a test's own namespace: applied, and every part ready by
    /// its kind's rule (the Job complete, the StatefulSet's claim bound, the Deployments
    /// available).
    #[kubekit::test]
    async fn the_app_runs(client: Client) -> kubekit::Result<()> {
        let images = local_images(&kubekit_testing::images()?);
        let objects = app(&images, client.namespace())?;
        let report = client
            .apply_manifest(&manifest::to_yaml_all(&objects)?)
            .await?;
        assert_eq!(report.objects.len(), objects.len());
        for object in &objects {
            wait_ready(&client, object).await?;
        }
        Ok(())
    }
}
