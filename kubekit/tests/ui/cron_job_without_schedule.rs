// A CronJob needs a schedule.
use kubekit::builders::*;

fn main() -> Result<(), ValidationError> {
    let template = pod_template()
        .container(container().name("backup").image("busybox").build()?)
        .build();
    let _c = cron_job().name("backup").template(template).build()?;
    Ok(())
}
