//! The operator the way it runs in a cluster: ONE process watching ALL namespaces (no
//! `--namespaces`), one AWS account (one emulator), and several tenant namespaces, each with its
//! own LustreClass that selects it by a namespace label.
//!
//! An operator watching every namespace sees every LustreVolume of the test binary's control
//! plane, so only one [`Cluster`] exists at a time: [`Cluster::prepare`] takes a process-wide
//! lock that the cluster holds until it is dropped. Dropping it kills the operator and removes
//! everything its tenants left behind (volumes with their finalizers stripped, their PVs and
//! StorageClasses, the namespaces and the classes), so the next cluster's operator never sees
//! them, even after a failed test.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use aws_emulator::{CallLog, Emulator, EmulatorConfig, FileSystemInfo, Inventory, SecurityGroupInfo};
use k8s_openapi::api::core::v1::{Namespace, PersistentVolume};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::Client;
use lustre_api::{tags, LustreClass, LustreClassSpec, LustreVolume};
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::operator::{install_crds, test_class_spec, Launch, OperatorOptions, OperatorProcess};

/// The namespace label each tenant's class selects (its value is the namespace's name).
pub const TENANT_LABEL: &str = "lustre-e2e/tenant";

/// One tenant: a namespace labelled [`TENANT_LABEL`] and the LustreClass only it may use.
pub struct Tenant {
    pub client: Client,
    /// The namespace.
    pub ns: String,
    /// Its LustreClass (named after the namespace).
    pub class: String,
    /// The class's subnet (tenants get the emulator's seeded subnets in turn).
    pub subnet_id: String,
    /// That subnet's availability zone.
    pub availability_zone: Option<String>,
}

impl Tenant {
    pub fn lvs(&self) -> Api<LustreVolume> {
        Api::namespaced(self.client.clone(), &self.ns)
    }

    /// LustreVolumes as raw objects: for objects the typed API cannot hold or parse.
    pub fn raw_lvs(&self) -> Api<DynamicObject> {
        Api::namespaced_with(self.client.clone(), &self.ns, &ApiResource::erase::<LustreVolume>(&()))
    }

    pub fn api<K>(&self) -> Api<K>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>,
        <K as kube::Resource>::DynamicType: Default,
    {
        Api::namespaced(self.client.clone(), &self.ns)
    }
}

fn serial() -> Arc<Mutex<()>> {
    static LOCK: OnceLock<Arc<Mutex<()>>> = OnceLock::new();
    LOCK.get_or_init(|| Arc::new(Mutex::new(()))).clone()
}

/// One emulator, one operator process watching all namespaces, N tenants.
pub struct Cluster {
    pub client: Client,
    pub emulator: Emulator,
    pub operator: Option<OperatorProcess>,
    pub options: OperatorOptions,
    pub tenants: Vec<Tenant>,
    /// Where the operator pod "lives" (POD_NAMESPACE): a namespace of its own, no tenant's.
    pub operator_namespace: String,
    log_dir: tempfile::TempDir,
    restarts: u32,
    /// Held until the cluster is gone: one cluster (one all-namespace operator) at a time.
    _serial: OwnedMutexGuard<()>,
}

async fn create_namespace(client: &Client, name: &str, labels: BTreeMap<String, String>) -> Result<()> {
    let mut ns: Namespace = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}
    }))?;
    ns.metadata.labels = Some(labels);
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .with_context(|| format!("creating namespace {name}"))?;
    Ok(())
}

impl Cluster {
    /// The emulator (with `config`), `tenants` tenant namespaces and their classes (`class(i,
    /// spec)` customises tenant i's class before it is created), no operator yet: start it with
    /// [`Cluster::start_operator`]. Waits for any other cluster of this test binary to be dropped.
    pub async fn prepare(
        prefix: &str,
        tenants: usize,
        config: EmulatorConfig,
        options: OperatorOptions,
        class: impl Fn(usize, &mut LustreClassSpec),
    ) -> Result<Cluster> {
        let serial = serial().lock_owned().await;
        let cp = tokio::task::spawn_blocking(crate::shared).await??;
        let client = cp.client().await?;
        install_crds(&client).await?;
        let emulator = Emulator::start(config).await?;
        let seed = emulator.seed();
        anyhow::ensure!(!seed.subnet_ids.is_empty(), "the emulator has no seeded subnet");
        let run = uuid::Uuid::new_v4().simple().to_string()[..6].to_string();
        let operator_namespace = format!("{prefix}-op-{run}");
        create_namespace(&client, &operator_namespace, BTreeMap::new()).await?;
        let mut list = Vec::new();
        for i in 0..tenants {
            let letter = char::from(b'a' + u8::try_from(i % 26).unwrap_or(0));
            let ns = format!("{prefix}-{letter}-{run}");
            create_namespace(&client, &ns, BTreeMap::from([(TENANT_LABEL.to_string(), ns.clone())])).await?;
            let subnet_id = seed.subnet_ids[i % seed.subnet_ids.len()].clone();
            let availability_zone = seed.availability_zones.get(i % seed.subnet_ids.len()).cloned();
            let mut spec = test_class_spec(&subnet_id, availability_zone.as_deref(), &ns)?;
            spec.namespace_selector = Some(serde_json::from_value(serde_json::json!({
                "matchLabels": {TENANT_LABEL: ns}
            }))?);
            class(i, &mut spec);
            let mut object = LustreClass::new(&ns, spec);
            object.metadata.labels = Some([("app.kubernetes.io/part-of".to_string(), "lustre-e2e".to_string())].into());
            Api::<LustreClass>::all(client.clone())
                .create(&PostParams::default(), &object)
                .await
                .with_context(|| format!("creating LustreClass {ns}"))?;
            list.push(Tenant { client: client.clone(), class: ns.clone(), ns, subnet_id, availability_zone });
        }
        let log_dir = tempfile::Builder::new().prefix(&format!("lustre-e2e-{prefix}-")).tempdir()?;
        Ok(Cluster {
            client,
            emulator,
            operator: None,
            options,
            tenants: list,
            operator_namespace,
            log_dir,
            restarts: 0,
            _serial: serial,
        })
    }

    /// [`Cluster::prepare`], then the operator started.
    pub async fn start(
        prefix: &str,
        tenants: usize,
        config: EmulatorConfig,
        options: OperatorOptions,
        class: impl Fn(usize, &mut LustreClassSpec),
    ) -> Result<Cluster> {
        let mut c = Cluster::prepare(prefix, tenants, config, options, class).await?;
        c.start_operator().await?;
        Ok(c)
    }

    /// Starts (or restarts after [`Cluster::kill_operator`]) the operator: no `--namespaces`,
    /// so it watches every namespace; waits until /readyz answers 200.
    pub async fn start_operator(&mut self) -> Result<()> {
        let cp = tokio::task::spawn_blocking(crate::shared).await??;
        self.restarts += 1;
        let log = self.log_dir.path().join(format!("operator-{}.log", self.restarts));
        let launch = Launch::all_namespaces(&self.operator_namespace);
        self.operator = Some(
            OperatorProcess::launch(cp.kubeconfig(), &self.emulator.endpoint(), &launch, &self.options, log).await?,
        );
        Ok(())
    }

    /// SIGKILLs the operator (a crash, no cleanup).
    pub fn kill_operator(&mut self) {
        if let Some(mut op) = self.operator.take() {
            op.kill();
        }
    }

    /// SIGKILL, then a fresh process (ready).
    pub async fn restart_operator(&mut self) -> Result<()> {
        self.kill_operator();
        self.start_operator().await
    }

    /// The log file of the `n`th operator process (1-based), for failure messages.
    pub fn operator_log_path(&self, n: u32) -> PathBuf {
        self.log_dir.path().join(format!("operator-{n}.log"))
    }

    /// The running operator's recent log.
    pub fn operator_log(&self) -> String {
        self.operator.as_ref().map(|o| o.log_tail(80)).unwrap_or_default()
    }

    pub fn tenant(&self, i: usize) -> &Tenant {
        &self.tenants[i]
    }

    /// Makes every tenant act as a real user with a namespace role ([`crate::tenancy`]) instead
    /// of the admin: what it may not do, the apiserver refuses.
    pub async fn tenants_as_users(&mut self) -> Result<()> {
        for t in &mut self.tenants {
            t.client = crate::tenancy::tenant_client(&self.client, &t.ns).await?;
        }
        Ok(())
    }

    /// LustreClasses (cluster-scoped).
    pub fn classes(&self) -> Api<LustreClass> {
        Api::all(self.client.clone())
    }

    /// Changes tenant `i`'s class (re-read and replaced on conflict with the operator's status writes).
    pub async fn update_class(&self, i: usize, change: impl Fn(&mut LustreClassSpec)) -> Result<LustreClass> {
        let (classes, name) = (self.classes(), self.tenants[i].class.clone());
        for _ in 0..5 {
            let mut class = classes.get(&name).await?;
            change(&mut class.spec);
            match classes.replace(&name, &PostParams::default(), &class).await {
                Err(kube::Error::Api(s)) if s.code == 409 => continue,
                other => return other.with_context(|| format!("updating LustreClass {name}")),
            }
        }
        bail!("LustreClass {name} kept changing under the update")
    }

    /// The emulator's call counter.
    pub fn calls(&self) -> CallLog {
        self.emulator.calls()
    }

    /// Everything the emulated account holds.
    pub fn inventory(&self) -> Inventory {
        self.emulator.inventory()
    }

    /// File systems tagged with `uid` as their owner.
    pub fn file_systems_of(&self, uid: &str) -> Vec<FileSystemInfo> {
        let inv = self.emulator.inventory();
        inv.file_systems.into_iter().filter(|f| f.tags.get(tags::OWNER_UID).map(String::as_str) == Some(uid)).collect()
    }

    /// Security groups tagged with `uid` as their owner.
    pub fn security_groups_of(&self, uid: &str) -> Vec<SecurityGroupInfo> {
        let inv = self.emulator.inventory();
        inv.security_groups
            .into_iter()
            .filter(|g| g.tags.get(tags::OWNER_UID).map(String::as_str) == Some(uid))
            .collect()
    }

    /// How many AWS calls the account sees during `window` (call it while every other volume is
    /// stable: a stable volume costs no AWS call between resyncs).
    pub async fn calls_during(&self, window: Duration) -> u64 {
        let before = self.emulator.calls().total();
        tokio::time::sleep(window).await;
        self.emulator.calls().total().saturating_sub(before)
    }

    /// An EC2 client on the emulator, as someone with console access to the account would use it.
    pub async fn ec2(&self) -> aws_sdk_ec2::Client {
        ec2_client(&self.emulator.endpoint()).await
    }
}

/// An EC2 client on an emulator endpoint (static test credentials, us-east-1).
pub async fn ec2_client(endpoint: &str) -> aws_sdk_ec2::Client {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(aws_credential_types::Credentials::new("test", "test", None, None, "static"))
        .load()
        .await;
    aws_sdk_ec2::Client::new(&config)
}

/// Removes what the tenants left: every LustreVolume (finalizers stripped: no operator runs any
/// more), the PVs and StorageClasses labelled for them, the namespaces and the classes.
async fn remove_tenants(client: Client, namespaces: Vec<String>, classes: Vec<String>) -> Result<()> {
    let resource = ApiResource::erase::<LustreVolume>(&());
    let strip = serde_json::json!({"metadata": {"finalizers": null}});
    for ns in &namespaces {
        let lvs: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &resource);
        for lv in lvs.list(&ListParams::default()).await.map(|l| l.items).unwrap_or_default() {
            let Some(name) = lv.metadata.name.clone() else { continue };
            let _ = lvs.patch(&name, &PatchParams::default(), &Patch::Merge(&strip)).await;
            let _ = lvs.delete(&name, &DeleteParams::default()).await;
        }
        let selected = ListParams::default().labels(&format!("{}={ns}", tags::LABEL_OWNER_NAMESPACE));
        let pvs: Api<PersistentVolume> = Api::all(client.clone());
        for pv in pvs.list(&selected).await.map(|l| l.items).unwrap_or_default() {
            if let Some(name) = pv.metadata.name {
                let _ = pvs.delete(&name, &DeleteParams::default()).await;
            }
        }
        let scs: Api<StorageClass> = Api::all(client.clone());
        for sc in scs.list(&selected).await.map(|l| l.items).unwrap_or_default() {
            if let Some(name) = sc.metadata.name {
                let _ = scs.delete(&name, &DeleteParams::default()).await;
            }
        }
        let _ = Api::<Namespace>::all(client.clone()).delete(ns, &DeleteParams::default()).await;
    }
    for class in &classes {
        let _ = Api::<LustreClass>::all(client.clone()).delete(class, &DeleteParams::default()).await;
    }
    Ok(())
}

impl Drop for Cluster {
    /// Kills the operator, then removes the tenants' leftovers (on its own thread and runtime: a
    /// test's runtime cannot be blocked on from inside).
    fn drop(&mut self) {
        self.kill_operator();
        let mut namespaces: Vec<String> = self.tenants.iter().map(|t| t.ns.clone()).collect();
        namespaces.push(self.operator_namespace.clone());
        let classes: Vec<String> = self.tenants.iter().map(|t| t.class.clone()).collect();
        crate::clean_up_after("the cluster's tenants", Duration::from_secs(30), move |client| {
            remove_tenants(client, namespaces, classes)
        });
    }
}
