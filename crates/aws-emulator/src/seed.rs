//! The seeded account: a default VPC, three subnets and the VPC's default security group, all with
//! deterministic IDs, plus the deterministic IDs handed out later (e.g. by `add_subnet`).

use chrono::{DateTime, Utc};

use crate::model::{egress_all, RuleSource, SecurityGroup, Seed, SgRule, State, Subnet, Table, Tags, Vpc};

/// `<prefix>-0e5eed` and `n` as 11 hex digits: 17 hex characters like a real ID, but predictable.
pub(crate) fn seeded_id(prefix: &str, n: u64) -> String {
    format!("{prefix}-0e5eed{n:011x}")
}

impl State {
    /// A fresh account: one default VPC 10.0.0.0/16, three subnets, the VPC's default group.
    pub(crate) fn seeded(now: DateTime<Utc>, region: &str) -> State {
        let vpc_id = seeded_id("vpc", 1);
        let sg_id = seeded_id("sg", 1);
        let azs: Vec<String> = ["a", "b", "c"].iter().map(|s| format!("{region}{s}")).collect();
        let cidrs: Vec<String> = (1..=3).map(|i| format!("10.0.{i}.0/24")).collect();
        let subnet_ids: Vec<String> = (1..=3).map(|i| seeded_id("subnet", i)).collect();
        let mut state = State {
            seed: Seed {
                vpc_id: vpc_id.clone(),
                vpc_cidr: "10.0.0.0/16".to_string(),
                subnet_ids: subnet_ids.clone(),
                subnet_cidrs: cidrs.clone(),
                availability_zones: azs.clone(),
                default_security_group_id: sg_id.clone(),
            },
            saved_at: now,
            vpcs: Table::new(),
            subnets: Table::new(),
            security_groups: Table::new(),
            network_interfaces: Table::new(),
            file_systems: Table::new(),
            associations: Table::new(),
            tasks: Table::new(),
            tokens: Table::new(),
            next_seeded: 4,
            next_seq: 0,
            task_failures: Table::new(),
        };
        state.vpcs.insert(
            vpc_id.clone(),
            Vpc { id: vpc_id.clone(), cidr: "10.0.0.0/16".to_string(), is_default: true, tags: Tags::new() },
        );
        for ((id, cidr), az) in subnet_ids.iter().zip(&cidrs).zip(&azs) {
            state.subnets.insert(
                id.clone(),
                Subnet {
                    id: id.clone(),
                    vpc_id: vpc_id.clone(),
                    cidr: cidr.clone(),
                    az: az.clone(),
                    tags: Tags::new(),
                },
            );
        }
        state.security_groups.insert(sg_id.clone(), default_group(&sg_id, &vpc_id, now));
        state
    }

    /// The next deterministic ID with `prefix` (used by `add_subnet`).
    pub(crate) fn next_seeded_id(&mut self, prefix: &str) -> String {
        let id = seeded_id(prefix, self.next_seeded);
        self.next_seeded += 1;
        id
    }
}

/// A VPC's `default` group: all traffic from itself in, all traffic out.
pub(crate) fn default_group(id: &str, vpc_id: &str, now: DateTime<Utc>) -> SecurityGroup {
    SecurityGroup {
        id: id.to_string(),
        name: "default".to_string(),
        description: "default VPC security group".to_string(),
        vpc_id: vpc_id.to_string(),
        tags: Tags::new(),
        rules: vec![
            SgRule {
                id: seeded_id("sgr", 1),
                egress: false,
                protocol: "-1".into(),
                from_port: -1,
                to_port: -1,
                source: RuleSource::Group(id.to_string()),
                description: None,
                added_at: now - chrono::Duration::days(1),
            },
            egress_all(seeded_id("sgr", 2), now - chrono::Duration::days(1)),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_ids_are_deterministic() {
        let a = State::seeded(Utc::now(), "us-east-1");
        let b = State::seeded(Utc::now(), "us-east-1");
        assert_eq!(a.seed, b.seed);
        assert_eq!(a.seed.subnet_ids[0], "subnet-0e5eed00000000001");
        assert_eq!(a.seed.vpc_id.len(), "vpc-".len() + 17);
    }
}
