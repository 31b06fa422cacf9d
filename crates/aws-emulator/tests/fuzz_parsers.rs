//! Property tests of the request parsers over HTTP: random bytes, truncations and random field
//! types must get a proper AWS error shape (or a proper answer), never a panic or a 500.
//!
//! Longer run: `PROPTEST_CASES=100000 cargo test -p aws-emulator --test fuzz_parsers --release`.

mod common;

use std::sync::OnceLock;

use aws_emulator::{Emulator, EmulatorConfig};
use proptest::prelude::*;
use serde_json::{json, Value};

struct Harness {
    rt: tokio::runtime::Runtime,
    emu: Emulator,
    http: reqwest::Client,
}

fn harness() -> &'static Harness {
    static H: OnceLock<Harness> = OnceLock::new();
    H.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
        let emu = rt.block_on(common::emulator(EmulatorConfig::default()));
        Harness { rt, emu, http: common::http() }
    })
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(96)
}

struct Answer {
    status: u16,
    error_type_header: Option<String>,
    body: Vec<u8>,
}

fn post(headers: &[(&str, &str)], body: Vec<u8>) -> Answer {
    let h = harness();
    h.rt.block_on(async {
        let mut req = h.http.post(h.emu.endpoint()).body(body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let r = req.send().await.expect("the emulator answers");
        let status = r.status().as_u16();
        let error_type_header = r.headers().get("x-amzn-errortype").and_then(|v| v.to_str().ok()).map(str::to_string);
        let body = r.bytes().await.expect("body").to_vec();
        Answer { status, error_type_header, body }
    })
}

const FSX_OPS: &[&str] = &[
    "CreateFileSystem",
    "DescribeFileSystems",
    "UpdateFileSystem",
    "DeleteFileSystem",
    "TagResource",
    "UntagResource",
    "ListTagsForResource",
    "CreateDataRepositoryAssociation",
    "DescribeDataRepositoryAssociations",
    "UpdateDataRepositoryAssociation",
    "DeleteDataRepositoryAssociation",
    "CreateDataRepositoryTask",
    "DescribeDataRepositoryTasks",
    "CancelDataRepositoryTask",
    "NoSuchOperation",
];

fn fsx(op: &str, body: Vec<u8>) -> Answer {
    let target = format!("AWSSimbaAPIService_v20180301.{op}");
    post(&[("X-Amz-Target", &target), ("Content-Type", "application/x-amz-json-1.1")], body)
}

/// An FSx answer is a JSON object; an error has `__type`, `message` and `x-amzn-errortype`.
fn assert_fsx_shape(a: &Answer) -> Result<(), TestCaseError> {
    prop_assert!(a.status != 500, "no internal errors: {}", String::from_utf8_lossy(&a.body));
    let v: Value = serde_json::from_slice(&a.body).map_err(|e| TestCaseError::fail(format!("not JSON: {e}")))?;
    prop_assert!(v.is_object());
    if a.status != 200 {
        prop_assert!((400..500).contains(&a.status));
        let ty = v["__type"].as_str().unwrap_or_default();
        prop_assert!(!ty.is_empty(), "missing __type: {v}");
        prop_assert!(v["message"].is_string());
        prop_assert_eq!(a.error_type_header.as_deref(), Some(ty));
    }
    Ok(())
}

/// An EC2 answer is `<XResponse xmlns=...>` or `<Response><Errors><Error><Code>`.
fn assert_ec2_shape(a: &Answer) -> Result<(), TestCaseError> {
    prop_assert!(a.status != 500, "no internal errors: {}", String::from_utf8_lossy(&a.body));
    let text = String::from_utf8(a.body.clone()).map_err(|e| TestCaseError::fail(format!("not UTF-8: {e}")))?;
    if a.status == 200 {
        prop_assert!(
            text.contains("Response xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>"),
            "{text}"
        );
    } else {
        prop_assert!(
            text.contains("<Response><Errors><Error><Code>") && text.contains("</Message></Error></Errors><RequestID>"),
            "{text}"
        );
    }
    Ok(())
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| json!(f)),
        "[a-zA-Z0-9:/._-]{0,24}".prop_map(Value::String),
        prop::sample::select(vec![
            "LUSTRE",
            "SCRATCH_2",
            "PERSISTENT_2",
            "SSD",
            "HDD",
            "s3://bucket/p/",
            "/ns",
            "2.15",
            "fs-0123456789abcdef0"
        ])
        .prop_map(|s| Value::String(s.to_string())),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((field_name(), inner), 0..5).prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "FileSystemType",
            "StorageCapacity",
            "StorageType",
            "SubnetIds",
            "SecurityGroupIds",
            "Tags",
            "Key",
            "Value",
            "LustreConfiguration",
            "DeploymentType",
            "PerUnitStorageThroughput",
            "ImportPath",
            "ExportPath",
            "FileSystemId",
            "FileSystemIds",
            "MaxResults",
            "NextToken",
            "ClientRequestToken",
            "ResourceARN",
            "TagKeys",
            "FileSystemPath",
            "DataRepositoryPath",
            "S3",
            "AssociationId",
            "AssociationIds",
            "TaskId",
            "TaskIds",
            "Type",
            "Report",
            "Enabled",
            "Paths",
            "Filters",
            "Name",
            "Values",
            "FileSystemTypeVersion",
            "MetadataConfiguration",
        ])
        .prop_map(str::to_string),
        "[A-Za-z]{1,12}",
    ]
}

fn valid_create_body() -> Vec<u8> {
    json!({
        "FileSystemType": "LUSTRE",
        "StorageCapacity": 1200,
        "SubnetIds": ["subnet-0e5eed00000000001"],
        "LustreConfiguration": {"DeploymentType": "SCRATCH_2"},
        "Tags": [{"Key": "k", "Value": "v"}],
    })
    .to_string()
    .into_bytes()
}

const EC2_KEYS: &[&str] = &[
    "GroupId",
    "GroupId.1",
    "GroupName",
    "GroupDescription",
    "VpcId",
    "VpcId.1",
    "SubnetId.1",
    "NetworkInterfaceId.1",
    "ResourceId.1",
    "Tag.1.Key",
    "Tag.1.Value",
    "Filter.1.Name",
    "Filter.1.Value.1",
    "IpPermissions.1.IpProtocol",
    "IpPermissions.1.FromPort",
    "IpPermissions.1.ToPort",
    "IpPermissions.1.IpRanges.1.CidrIp",
    "IpPermissions.1.Groups.1.GroupId",
    "MaxResults",
    "NextToken",
    "TagSpecification.1.ResourceType",
    "TagSpecification.1.Tag.1.Key",
    "SecurityGroupRuleId.1",
    "CidrIp",
    "IpProtocol",
    "FromPort",
    "ToPort",
];

const EC2_ACTIONS: &[&str] = &[
    "DescribeVpcs",
    "DescribeSubnets",
    "CreateSecurityGroup",
    "DescribeSecurityGroups",
    "AuthorizeSecurityGroupIngress",
    "RevokeSecurityGroupIngress",
    "DeleteSecurityGroup",
    "CreateTags",
    "DeleteTags",
    "DescribeNetworkInterfaces",
    "DescribeSecurityGroupRules",
    "RunInstances",
    "",
];

fn ec2_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,20}",
        prop::sample::select(vec![
            "sg-0e5eed00000000001",
            "tcp",
            "-1",
            "988",
            "65536",
            "-5",
            "10.0.0.0/16",
            "10.0.0.0/99",
            "vpc-id",
            "group-name",
            "tag:x",
            "security-group",
            "sg-zz"
        ])
        .prop_map(str::to_string),
        any::<i64>().prop_map(|n| n.to_string()),
    ]
}

fn ec2_body(action: &str, pairs: &[(String, String)]) -> Vec<u8> {
    let mut all = vec![("Action".to_string(), action.to_string()), ("Version".to_string(), "2016-11-15".to_string())];
    all.extend(pairs.iter().cloned());
    serde_urlencoded::to_string(&all).unwrap_or_default().into_bytes()
}

fn ec2(body: Vec<u8>) -> Answer {
    post(&[("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")], body)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn fsx_random_bytes(op in prop::sample::select(FSX_OPS), body in prop::collection::vec(any::<u8>(), 0..512)) {
        assert_fsx_shape(&fsx(op, body))?;
    }

    #[test]
    fn fsx_truncated_bodies_are_rejected_whole(cut in 0usize..140) {
        let body = valid_create_body();
        let cut = cut.min(body.len() - 1);
        let before = harness().emu.inventory().file_systems.len();
        let a = fsx("CreateFileSystem", body[..cut].to_vec());
        assert_fsx_shape(&a)?;
        prop_assert!(a.status != 200);
        prop_assert_eq!(harness().emu.inventory().file_systems.len(), before);
    }

    #[test]
    fn fsx_random_field_types(op in prop::sample::select(FSX_OPS), fields in prop::collection::vec((field_name(), arb_json()), 0..8)) {
        let body: serde_json::Map<String, Value> = fields.into_iter().collect();
        assert_fsx_shape(&fsx(op, Value::Object(body).to_string().into_bytes()))?;
    }

    #[test]
    fn ec2_random_forms(action in prop::sample::select(EC2_ACTIONS), pairs in prop::collection::vec((prop::sample::select(EC2_KEYS).prop_map(str::to_string), ec2_value()), 0..8)) {
        assert_ec2_shape(&ec2(ec2_body(action, &pairs)))?;
    }

    #[test]
    fn ec2_random_bytes(body in prop::collection::vec(any::<u8>(), 0..512)) {
        assert_ec2_shape(&ec2(body))?;
    }

    #[test]
    fn ec2_truncated_bodies(cut in 0usize..400) {
        let body = ec2_body("AuthorizeSecurityGroupIngress", &[
            ("GroupId".into(), "sg-0e5eed00000000001".into()),
            ("IpPermissions.1.IpProtocol".into(), "tcp".into()),
            ("IpPermissions.1.FromPort".into(), "2000".into()),
            ("IpPermissions.1.ToPort".into(), "2001".into()),
            ("IpPermissions.1.IpRanges.1.CidrIp".into(), "10.9.0.0/16".into()),
        ]);
        let cut = cut.min(body.len());
        assert_ec2_shape(&ec2(body[..cut].to_vec()))?;
    }
}
