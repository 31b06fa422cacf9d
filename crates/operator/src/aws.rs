//! The whole AWS surface of the operator: one small function per FSx or EC2 call, each counted
//! in the metrics by service, operation and outcome.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Instant;

use aws_sdk_ec2::types::{Filter, IpPermission, IpRange, ResourceType, TagSpecification, UserIdGroupPair};
use aws_sdk_fsx::error::ProvideErrorMetadata;
use aws_sdk_fsx::types::{FileSystem, FileSystemType};

use crate::metrics::Metrics;

/// An AWS call that failed: the AWS error code (or the SDK's failure kind) and its message.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{operation}: {code}: {message}")]
pub struct AwsError {
    pub operation: &'static str,
    pub code: String,
    pub message: String,
}

impl AwsError {
    pub fn is(&self, code: &str) -> bool {
        self.code == code
    }
    /// EC2's answers for a security group that does not exist.
    pub fn is_group_not_found(&self) -> bool {
        self.is("InvalidGroup.NotFound") || self.is("InvalidGroupId.NotFound")
    }
    /// Throttling and server-side failures, worth retrying with backoff.
    pub fn is_transient(&self) -> bool {
        matches!(
            self.code.as_str(),
            "ThrottlingException"
                | "RequestLimitExceeded"
                | "InternalServerError"
                | "ServiceUnavailable"
                | "Unavailable"
                | "DispatchFailure"
                | "ResponseError"
                | "TimeoutError"
        )
    }
}

/// FSx and EC2 clients plus the metrics they report to.
#[derive(Clone)]
pub struct Aws {
    pub fsx: aws_sdk_fsx::Client,
    pub ec2: aws_sdk_ec2::Client,
    metrics: Metrics,
}

/// What the operator needs to know about a file system.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileSystemInfo {
    pub id: String,
    pub lifecycle: String,
    pub dns_name: Option<String>,
    pub mount_name: Option<String>,
    pub capacity_gib: Option<i32>,
    pub failure: Option<String>,
    pub tags: BTreeMap<String, String>,
    /// Administrative actions in progress, as "TYPE STATUS PERCENT%".
    pub actions_in_progress: Vec<String>,
}

impl FileSystemInfo {
    fn from_sdk(fs: &FileSystem) -> FileSystemInfo {
        let lustre = fs.lustre_configuration();
        FileSystemInfo {
            id: fs.file_system_id().unwrap_or_default().to_string(),
            lifecycle: fs.lifecycle().map(|l| l.as_str().to_string()).unwrap_or_default(),
            dns_name: fs.dns_name().map(str::to_string),
            mount_name: lustre.and_then(|l| l.mount_name()).map(str::to_string),
            capacity_gib: fs.storage_capacity(),
            failure: fs.failure_details().and_then(|f| f.message()).map(str::to_string),
            tags: fs
                .tags()
                .iter()
                .map(|t| (t.key().unwrap_or_default().to_string(), t.value().unwrap_or_default().to_string()))
                .collect(),
            actions_in_progress: fs
                .administrative_actions()
                .iter()
                .filter(|a| a.status().is_some_and(|s| matches!(s.as_str(), "PENDING" | "IN_PROGRESS")))
                .map(|a| {
                    format!(
                        "{} {} {}%",
                        a.administrative_action_type().map(|t| t.as_str()).unwrap_or("UPDATE"),
                        a.status().map(|s| s.as_str()).unwrap_or(""),
                        a.progress_percent().unwrap_or(0)
                    )
                })
                .collect(),
        }
    }

    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags.get(key).map(String::as_str)
    }

    /// Lifecycles in which the file system is still changing on its own.
    pub fn in_transition(&self) -> bool {
        matches!(self.lifecycle.as_str(), "CREATING" | "UPDATING" | "DELETING" | "MISCONFIGURED")
            || !self.actions_in_progress.is_empty()
    }
}

/// A security group as the operator sees it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SecurityGroupInfo {
    pub id: String,
    pub vpc_id: String,
    pub tags: BTreeMap<String, String>,
    /// Inbound TCP rules as (from, to, source) with source a group ID or a CIDR.
    pub ingress: Vec<(i32, i32, String)>,
}

impl SecurityGroupInfo {
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags.get(key).map(String::as_str)
    }
}

/// A subnet's VPC and CIDR.
#[derive(Debug, Clone)]
pub struct SubnetInfo {
    pub vpc_id: String,
    pub cidr: String,
}

/// One inbound TCP rule the operator wants.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct IngressRule {
    pub from_port: i32,
    pub to_port: i32,
    pub source: String,
}

impl Aws {
    pub fn new(config: &aws_config::SdkConfig, metrics: Metrics) -> Aws {
        Aws { fsx: aws_sdk_fsx::Client::new(config), ec2: aws_sdk_ec2::Client::new(config), metrics }
    }

    async fn call<T, E>(
        &self,
        service: &'static str,
        operation: &'static str,
        fut: impl Future<Output = Result<T, E>>,
    ) -> Result<T, AwsError>
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let start = Instant::now();
        let result = fut.await;
        let elapsed = start.elapsed();
        match result {
            Ok(v) => {
                self.metrics.aws_call(service, operation, "ok", elapsed);
                Ok(v)
            }
            Err(e) => {
                let code = e.code().map(str::to_string).unwrap_or_else(|| sdk_failure_kind(&e));
                let message = e.message().map(str::to_string).unwrap_or_else(|| error_chain(&e));
                self.metrics.aws_call(service, operation, &code, elapsed);
                Err(AwsError { operation, code, message })
            }
        }
    }

    // ---------------------------------------------------------------- EC2

    #[tracing::instrument(skip(self), err)]
    pub async fn describe_subnet(&self, subnet_id: &str) -> Result<SubnetInfo, AwsError> {
        let out = self.call("ec2", "DescribeSubnets", self.ec2.describe_subnets().subnet_ids(subnet_id).send()).await?;
        let subnet = out.subnets().first().ok_or_else(|| AwsError {
            operation: "DescribeSubnets",
            code: "InvalidSubnetID.NotFound".into(),
            message: format!("The subnet ID '{subnet_id}' does not exist"),
        })?;
        Ok(SubnetInfo {
            vpc_id: subnet.vpc_id().unwrap_or_default().to_string(),
            cidr: subnet.cidr_block().unwrap_or_default().to_string(),
        })
    }

    /// Security groups carrying `tag_key = tag_value`.
    #[tracing::instrument(skip(self), err)]
    pub async fn find_security_groups_by_tag(
        &self,
        tag_key: &str,
        tag_value: &str,
    ) -> Result<Vec<SecurityGroupInfo>, AwsError> {
        let filter = Filter::builder().name(format!("tag:{tag_key}")).values(tag_value).build();
        let out = self
            .call("ec2", "DescribeSecurityGroups", self.ec2.describe_security_groups().filters(filter).send())
            .await?;
        Ok(out.security_groups().iter().map(sg_info).collect())
    }

    /// Security groups by ID; `InvalidGroup.NotFound` when one is missing.
    #[tracing::instrument(skip(self), err)]
    pub async fn describe_security_groups(&self, ids: &[String]) -> Result<Vec<SecurityGroupInfo>, AwsError> {
        let out = self
            .call(
                "ec2",
                "DescribeSecurityGroups",
                self.ec2.describe_security_groups().set_group_ids(Some(ids.to_vec())).send(),
            )
            .await?;
        Ok(out.security_groups().iter().map(sg_info).collect())
    }

    /// One security group by ID; `None` when EC2 says it does not exist.
    pub async fn describe_security_group(&self, id: &str) -> Result<Option<SecurityGroupInfo>, AwsError> {
        match self.describe_security_groups(&[id.to_string()]).await {
            Ok(mut found) => Ok(found.pop()),
            Err(e) if e.is_group_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The security group named `name` in `vpc_id`, if any.
    #[tracing::instrument(skip(self), err)]
    pub async fn find_security_group_by_name(
        &self,
        vpc_id: &str,
        name: &str,
    ) -> Result<Option<SecurityGroupInfo>, AwsError> {
        let out = self
            .call(
                "ec2",
                "DescribeSecurityGroups",
                self.ec2
                    .describe_security_groups()
                    .filters(Filter::builder().name("group-name").values(name).build())
                    .filters(Filter::builder().name("vpc-id").values(vpc_id).build())
                    .send(),
            )
            .await?;
        Ok(out.security_groups().first().map(sg_info))
    }

    /// Creates a security group with its tags in the same call (no window without the tag).
    #[tracing::instrument(skip(self, tags), err)]
    pub async fn create_security_group(
        &self,
        vpc_id: &str,
        name: &str,
        description: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<String, AwsError> {
        let spec = TagSpecification::builder()
            .resource_type(ResourceType::SecurityGroup)
            .set_tags(Some(
                tags.iter().map(|(k, v)| aws_sdk_ec2::types::Tag::builder().key(k).value(v).build()).collect(),
            ))
            .build();
        let out = self
            .call(
                "ec2",
                "CreateSecurityGroup",
                self.ec2
                    .create_security_group()
                    .group_name(name)
                    .description(description)
                    .vpc_id(vpc_id)
                    .tag_specifications(spec)
                    .send(),
            )
            .await?;
        Ok(out.group_id().unwrap_or_default().to_string())
    }

    /// Adds inbound TCP rules; rules that already exist are not an error.
    #[tracing::instrument(skip(self), err)]
    pub async fn authorize_ingress(&self, group_id: &str, rules: &[IngressRule]) -> Result<(), AwsError> {
        let permissions: Vec<IpPermission> = rules.iter().map(ip_permission).collect();
        match self
            .call(
                "ec2",
                "AuthorizeSecurityGroupIngress",
                self.ec2
                    .authorize_security_group_ingress()
                    .group_id(group_id)
                    .set_ip_permissions(Some(permissions))
                    .send(),
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.is("InvalidPermission.Duplicate") && rules.len() > 1 => {
                // One of them exists: add the others one by one.
                for rule in rules {
                    Box::pin(self.authorize_ingress(group_id, std::slice::from_ref(rule))).await?;
                }
                Ok(())
            }
            Err(e) if e.is("InvalidPermission.Duplicate") => Ok(()),
            Err(e) => Err(e),
        }
    }

    #[tracing::instrument(skip(self), err)]
    pub async fn delete_security_group(&self, group_id: &str) -> Result<(), AwsError> {
        self.call("ec2", "DeleteSecurityGroup", self.ec2.delete_security_group().group_id(group_id).send())
            .await
            .map(|_| ())
    }

    // ---------------------------------------------------------------- FSx

    /// Describes up to 50 file systems by ID (`FileSystemNotFound` if any is unknown).
    #[tracing::instrument(skip(self), err)]
    pub async fn describe_file_systems(&self, ids: &[String]) -> Result<Vec<FileSystemInfo>, AwsError> {
        let out = self
            .call(
                "fsx",
                "DescribeFileSystems",
                self.fsx.describe_file_systems().set_file_system_ids(Some(ids.to_vec())).send(),
            )
            .await?;
        Ok(out.file_systems().iter().map(FileSystemInfo::from_sdk).collect())
    }

    /// All Lustre file systems carrying `tag_key = tag_value` (pages through the account).
    #[tracing::instrument(skip(self), err)]
    pub async fn find_file_systems_by_tag(
        &self,
        tag_key: &str,
        tag_value: &str,
    ) -> Result<Vec<FileSystemInfo>, AwsError> {
        let mut found = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = self
                .call(
                    "fsx",
                    "DescribeFileSystems",
                    self.fsx.describe_file_systems().set_next_token(token.clone()).send(),
                )
                .await?;
            found.extend(
                out.file_systems()
                    .iter()
                    .filter(|fs| fs.file_system_type() == Some(&FileSystemType::Lustre))
                    .map(FileSystemInfo::from_sdk)
                    .filter(|fs| fs.tag(tag_key) == Some(tag_value)),
            );
            token = out.next_token().map(str::to_string);
            if token.is_none() {
                return Ok(found);
            }
        }
    }

    /// Sends a prepared CreateFileSystem request.
    #[tracing::instrument(skip(self, request), err)]
    pub async fn create_file_system(
        &self,
        request: aws_sdk_fsx::operation::create_file_system::builders::CreateFileSystemFluentBuilder,
    ) -> Result<FileSystemInfo, AwsError> {
        let out = self.call("fsx", "CreateFileSystem", request.send()).await?;
        out.file_system().map(FileSystemInfo::from_sdk).ok_or_else(|| AwsError {
            operation: "CreateFileSystem",
            code: "MalformedResponse".into(),
            message: "CreateFileSystem answered without a file system".into(),
        })
    }

    #[tracing::instrument(skip(self), err)]
    pub async fn grow_file_system(&self, id: &str, capacity_gib: i32) -> Result<(), AwsError> {
        self.call(
            "fsx",
            "UpdateFileSystem",
            self.fsx.update_file_system().file_system_id(id).storage_capacity(capacity_gib).send(),
        )
        .await
        .map(|_| ())
    }

    #[tracing::instrument(skip(self), err)]
    pub async fn delete_file_system(&self, id: &str, skip_final_backup: bool) -> Result<(), AwsError> {
        let lustre = aws_sdk_fsx::types::DeleteFileSystemLustreConfiguration::builder()
            .skip_final_backup(skip_final_backup)
            .build();
        self.call(
            "fsx",
            "DeleteFileSystem",
            self.fsx.delete_file_system().file_system_id(id).lustre_configuration(lustre).send(),
        )
        .await
        .map(|_| ())
    }
}

fn ip_permission(rule: &IngressRule) -> IpPermission {
    let b = IpPermission::builder().ip_protocol("tcp").from_port(rule.from_port).to_port(rule.to_port);
    if rule.source.starts_with("sg-") {
        b.user_id_group_pairs(UserIdGroupPair::builder().group_id(&rule.source).build()).build()
    } else {
        b.ip_ranges(IpRange::builder().cidr_ip(&rule.source).description("lustre-operator client").build()).build()
    }
}

fn sg_info(sg: &aws_sdk_ec2::types::SecurityGroup) -> SecurityGroupInfo {
    let mut ingress = Vec::new();
    for p in sg.ip_permissions() {
        let proto = p.ip_protocol().unwrap_or_default();
        let (from, to) =
            if proto == "-1" { (0, 65535) } else { (p.from_port().unwrap_or(0), p.to_port().unwrap_or(0)) };
        if proto != "tcp" && proto != "6" && proto != "-1" {
            continue;
        }
        for pair in p.user_id_group_pairs() {
            ingress.push((from, to, pair.group_id().unwrap_or_default().to_string()));
        }
        for range in p.ip_ranges() {
            ingress.push((from, to, range.cidr_ip().unwrap_or_default().to_string()));
        }
    }
    SecurityGroupInfo {
        id: sg.group_id().unwrap_or_default().to_string(),
        vpc_id: sg.vpc_id().unwrap_or_default().to_string(),
        tags: sg
            .tags()
            .iter()
            .map(|t| (t.key().unwrap_or_default().to_string(), t.value().unwrap_or_default().to_string()))
            .collect(),
        ingress,
    }
}

fn sdk_failure_kind(e: &(dyn std::error::Error + 'static)) -> String {
    let text = format!("{e:?}");
    for kind in ["DispatchFailure", "TimeoutError", "ResponseError", "ConstructionFailure"] {
        if text.starts_with(kind) {
            return kind.to_string();
        }
    }
    "Unknown".into()
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        parts.push(s.to_string());
        source = s.source();
    }
    parts.join(": ")
}
