//! Revision history (`kubectl rollout history`) and undo (`kubectl rollout undo`).

use std::{collections::BTreeMap, fmt};

use k8s_openapi::{
    api::{
        apps::v1::{Deployment, ReplicaSet},
        core::v1::PodTemplateSpec,
    },
    apimachinery::pkg::apis::meta::v1::Time,
};

use super::{
    CHANGE_CAUSE_ANNOTATION, POD_TEMPLATE_HASH_LABEL, REVISION_ANNOTATION, controller_uid,
    revision_of,
};

/// One revision of a Deployment: a ReplicaSet it owns, with the pod template it runs.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Revision {
    /// The revision number (annotation `deployment.kubernetes.io/revision`).
    pub number: u64,
    /// The ReplicaSet's name, e.g. `web-5f7b9c6d4`.
    pub replica_set: String,
    /// The images of its containers (init containers first) as `(container, image)`.
    pub images: Vec<(String, String)>,
    /// Why it was made (annotation `kubernetes.io/change-cause`), when recorded.
    pub change_cause: Option<String>,
    /// The ReplicaSet's desired pods (0 for old revisions).
    pub replicas: i32,
    /// Its ready pods.
    pub ready: i32,
    /// When the ReplicaSet was created.
    pub created: Option<Time>,
    /// Whether this is the Deployment's current revision.
    pub current: bool,
    /// The pod template, without the `pod-template-hash` label the controller adds: what an
    /// undo to this revision puts back into the Deployment.
    pub template: PodTemplateSpec,
}

impl Revision {
    /// The revision a ReplicaSet stands for; `None` when it has no (valid) revision
    /// annotation.
    pub(crate) fn from_replica_set(rs: &ReplicaSet, current: Option<u64>) -> Option<Self> {
        let number = revision_of(&rs.metadata)?;
        let mut template = rs
            .spec
            .as_ref()
            .and_then(|s| s.template.clone())
            .unwrap_or_default();
        if let Some(labels) = template.metadata.as_mut().and_then(|m| m.labels.as_mut()) {
            labels.remove(POD_TEMPLATE_HASH_LABEL);
        }
        let images = template
            .spec
            .as_ref()
            .map(|spec| {
                spec.init_containers
                    .iter()
                    .flatten()
                    .chain(spec.containers.iter())
                    .map(|c| (c.name.clone(), c.image.clone().unwrap_or_default()))
                    .collect()
            })
            .unwrap_or_default();
        Some(Revision {
            number,
            replica_set: rs.metadata.name.clone().unwrap_or_default(),
            images,
            change_cause: rs
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(CHANGE_CAUSE_ANNOTATION))
                .cloned(),
            replicas: rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0),
            ready: rs
                .status
                .as_ref()
                .and_then(|s| s.ready_replicas)
                .unwrap_or(0),
            created: rs.metadata.creation_timestamp.clone(),
            current: current == Some(number),
            template,
        })
    }

    /// The image of container `name`, if the revision has that container.
    pub fn image(&self, container: &str) -> Option<&str> {
        self.images
            .iter()
            .find(|(c, _)| c == container)
            .map(|(_, image)| image.as_str())
    }
}

/// A Deployment's revisions, oldest first, as `kubectl rollout history` lists them.
///
/// Displays as a table:
///
/// ```text
/// REVISION   REPLICASET        READY   IMAGES                 CHANGE-CAUSE
/// 1          web-6c8f7d9b45    0/0     nginx:1.27             <none>
/// 2          web-5f7b9c6d4     3/3     nginx:1.28             upgrade to 1.28 (current)
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct History {
    /// The Deployment's name.
    pub deployment: String,
    /// Its revisions, sorted by number.
    pub revisions: Vec<Revision>,
}

impl History {
    /// The history of `deployment` from `replica_sets`: those it controls (by owner
    /// reference) that carry a revision; others are left out. When two carry the same number
    /// the newer one wins.
    ///
    /// ```
    /// use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
    /// use kubekit::rollout::History;
    ///
    /// let mut web = Deployment::default();
    /// web.metadata.name = Some("web".into());
    /// let history = History::of(&web, &Vec::<ReplicaSet>::new());
    /// assert!(history.is_empty());
    /// ```
    pub fn of<'a>(
        deployment: &Deployment,
        replica_sets: impl IntoIterator<Item = &'a ReplicaSet>,
    ) -> Self {
        let uid = deployment.metadata.uid.as_deref();
        let current = revision_of(&deployment.metadata);
        let owned = replica_sets
            .into_iter()
            .filter(|rs| uid.is_some() && controller_uid(&rs.metadata) == uid);
        let mut by_number: BTreeMap<u64, Revision> = BTreeMap::new();
        for rs in owned {
            if let Some(rev) = Revision::from_replica_set(rs, current) {
                let newer = by_number
                    .get(&rev.number)
                    .is_none_or(|old| old.created.as_ref() <= rev.created.as_ref());
                if newer {
                    by_number.insert(rev.number, rev);
                }
            }
        }
        History {
            deployment: deployment.metadata.name.clone().unwrap_or_default(),
            revisions: by_number.into_values().collect(),
        }
    }

    /// The revision numbers, oldest first.
    pub fn numbers(&self) -> Vec<u64> {
        self.revisions.iter().map(|r| r.number).collect()
    }

    /// Revision `number`, if the Deployment still has it.
    pub fn get(&self, number: u64) -> Option<&Revision> {
        self.revisions.iter().find(|r| r.number == number)
    }

    /// The current revision (the newest).
    pub fn current(&self) -> Option<&Revision> {
        self.revisions
            .iter()
            .find(|r| r.current)
            .or_else(|| self.revisions.last())
    }

    /// The revision before the current one: where [`Rollout::undo`](super::Rollout::undo)
    /// goes.
    pub fn previous(&self) -> Option<&Revision> {
        let current = self.current()?.number;
        self.revisions.iter().rev().find(|r| r.number < current)
    }

    /// Whether there are no revisions (the controller has not made a ReplicaSet yet).
    pub fn is_empty(&self) -> bool {
        self.revisions.is_empty()
    }

    /// The table: REVISION, REPLICASET, READY, IMAGES, CHANGE-CAUSE, the current revision
    /// marked `(current)`.
    ///
    /// ```
    /// use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
    /// use kubekit::rollout::History;
    ///
    /// let empty = History::of(&Deployment::default(), &Vec::<ReplicaSet>::new());
    /// assert_eq!(empty.table(), "REVISION   REPLICASET   READY   IMAGES   CHANGE-CAUSE\n");
    /// ```
    pub fn table(&self) -> String {
        let rows: Vec<Vec<String>> = self
            .revisions
            .iter()
            .map(|r| {
                let images: Vec<&str> = r.images.iter().map(|(_, i)| i.as_str()).collect();
                let mut cause = r.change_cause.clone().unwrap_or_else(|| "<none>".into());
                if r.current {
                    cause.push_str(" (current)");
                }
                vec![
                    r.number.to_string(),
                    r.replica_set.clone(),
                    format!("{}/{}", r.ready, r.replicas),
                    images.join(","),
                    cause,
                ]
            })
            .collect();
        crate::client::table::render(
            &["REVISION", "REPLICASET", "READY", "IMAGES", "CHANGE-CAUSE"],
            &rows,
        )
    }
}

impl fmt::Display for History {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "deployment.apps/{}", self.deployment)?;
        f.write_str(&self.table())
    }
}

/// What an undo did.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RolledBack {
    /// The revision that was current before the undo.
    pub from: Option<u64>,
    /// The revision whose pod template the Deployment got back. The controller gives that
    /// ReplicaSet a new number (the next one) when it rolls out.
    pub to: u64,
    /// `false` when the Deployment already ran that template ("skipped rollback" in
    /// kubectl's words): nothing was changed.
    pub changed: bool,
}

impl fmt::Display for RolledBack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.changed {
            write!(f, "rolled back to revision {}", self.to)
        } else {
            write!(
                f,
                "skipped rollback (current template already matches revision {})",
                self.to
            )
        }
    }
}

/// The annotations a rollback keeps from the Deployment instead of taking the
/// ReplicaSet's, as kubectl does.
pub(crate) const ANNOTATIONS_KEPT_ON_UNDO: [&str; 6] = [
    "kubectl.kubernetes.io/last-applied-configuration",
    REVISION_ANNOTATION,
    "deployment.kubernetes.io/revision-history",
    "deployment.kubernetes.io/desired-replicas",
    "deployment.kubernetes.io/max-replicas",
    "deprecated.deployment.rollback.to",
];

/// The Deployment's annotations after an undo to a ReplicaSet with `rs_annotations`.
pub(crate) fn annotations_after_undo(
    deployment: Option<&BTreeMap<String, String>>,
    rs_annotations: Option<&BTreeMap<String, String>>,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for key in ANNOTATIONS_KEPT_ON_UNDO {
        if let Some(v) = deployment.and_then(|a| a.get(key)) {
            out.insert(key.to_string(), v.clone());
        }
    }
    for (k, v) in rs_annotations.into_iter().flatten() {
        if !ANNOTATIONS_KEPT_ON_UNDO.contains(&k.as_str()) {
            out.insert(k.clone(), v.clone());
        }
    }
    out
}
