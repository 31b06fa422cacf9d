//! Lookups of single security groups, batched. EC2 filters `DescribeSecurityGroups` by many
//! values at once (`tag:KEY` for the owner-tag lookup before a create, `group-id` for the check
//! of a known group), and a filter, unlike `GroupIds`, is not failed by a missing group. So the
//! lookups of a burst of volumes share calls: while one call is out, the questions that arrive
//! wait and go together in the next. A lone question costs one call; a hundred at once, two or
//! three; an operator restarting with a thousand volumes, a handful.

use std::collections::BTreeSet;
use std::sync::Mutex;

use aws_sdk_ec2::types::Filter;
use tokio::sync::oneshot;

use super::{Aws, AwsError, ErrorKind, SecurityGroup};

/// EC2 takes at most this many values in one filter.
pub(super) const MAX_FILTER_VALUES: usize = 200;

type Answer = Result<Vec<SecurityGroup>, AwsError>;

struct Question {
    /// The EC2 filter name: `tag:KEY` or `group-id`.
    filter: String,
    value: String,
    answer: oneshot::Sender<Answer>,
}

/// The questions waiting for the next call, and whether a task is asking.
#[derive(Default)]
pub(super) struct Lookups {
    state: Mutex<Waiting>,
}

#[derive(Default)]
struct Waiting {
    asking: bool,
    questions: Vec<Question>,
}

impl Lookups {
    fn lock(&self) -> std::sync::MutexGuard<'_, Waiting> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Takes the next batch: the first question's filter and up to [`MAX_FILTER_VALUES`] distinct
/// values of it (every question naming one of them). Empty when nothing waits.
fn next_batch(waiting: &mut Vec<Question>) -> (String, Vec<Question>) {
    let Some(key) = waiting.first().map(|q| q.filter.clone()) else { return (String::new(), Vec::new()) };
    let mut values = BTreeSet::new();
    let mut batch = Vec::new();
    let mut rest = Vec::new();
    for q in waiting.drain(..) {
        let fits = q.filter == key && (values.contains(&q.value) || values.len() < MAX_FILTER_VALUES);
        if fits {
            values.insert(q.value.clone());
            batch.push(q);
        } else {
            rest.push(q);
        }
    }
    *waiting = rest;
    (key, batch)
}

/// Whether `group` answers the question `filter = value`.
fn answers(group: &SecurityGroup, filter: &str, value: &str) -> bool {
    match filter.strip_prefix("tag:") {
        Some(key) => group.tags.get(key).map(String::as_str) == Some(value),
        None => filter == "group-id" && group.id == value,
    }
}

impl Aws {
    /// Security groups carrying `tag_key = tag_value`. Concurrent lookups share calls.
    pub(crate) async fn security_groups_tagged(
        &self,
        tag_key: &str,
        tag_value: &str,
    ) -> Result<Vec<SecurityGroup>, AwsError> {
        self.security_groups_where(&format!("tag:{tag_key}"), tag_value).await
    }

    /// One security group by ID; `None` when it does not exist. Concurrent lookups share calls.
    pub(crate) async fn describe_security_group(&self, id: &str) -> Result<Option<SecurityGroup>, AwsError> {
        Ok(self.security_groups_where("group-id", id).await?.pop())
    }

    /// The security groups matching `filter = value`, asked together with whatever else waits.
    async fn security_groups_where(&self, filter: &str, value: &str) -> Result<Vec<SecurityGroup>, AwsError> {
        let (tx, rx) = oneshot::channel();
        let start_asking = {
            let mut w = self.sg_lookups.lock();
            w.questions.push(Question { filter: filter.into(), value: value.into(), answer: tx });
            !std::mem::replace(&mut w.asking, true)
        };
        if start_asking {
            tokio::spawn(self.clone().ask_until_answered());
        }
        rx.await.unwrap_or_else(|_| {
            Err(AwsError {
                operation: "DescribeSecurityGroups",
                kind: ErrorKind::Transient,
                code: "LookupAbandoned".into(),
                message: format!("the lookup of security groups with {filter}={value} was abandoned"),
            })
        })
    }

    /// Answers waiting questions, one call per batch, until none wait.
    async fn ask_until_answered(self) {
        loop {
            let (filter, batch) = {
                let mut w = self.sg_lookups.lock();
                let taken = next_batch(&mut w.questions);
                if taken.1.is_empty() {
                    w.asking = false;
                    return;
                }
                taken
            };
            let values: BTreeSet<&str> = batch.iter().map(|q| q.value.as_str()).collect();
            let found = self.security_groups_matching(&filter, &values).await;
            for q in batch {
                let mine = found
                    .as_ref()
                    .map(|groups| groups.iter().filter(|g| answers(g, &filter, &q.value)).cloned().collect());
                let _ = q.answer.send(mine.map_err(Clone::clone));
            }
        }
    }

    /// Every security group whose `filter` is one of `values`, all pages.
    #[tracing::instrument(skip(self), err)]
    async fn security_groups_matching(
        &self,
        filter: &str,
        values: &BTreeSet<&str>,
    ) -> Result<Vec<SecurityGroup>, AwsError> {
        let filter =
            Filter::builder().name(filter).set_values(Some(values.iter().map(|v| v.to_string()).collect())).build();
        let mut groups = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let request = self.ec2.describe_security_groups().filters(filter.clone()).set_next_token(token.take());
            let out = self.call("ec2", "DescribeSecurityGroups", || request.send()).await?;
            groups.extend(out.security_groups().iter().map(super::ec2::security_group));
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => return Ok(groups),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(key: &str, value: &str) -> (Question, oneshot::Receiver<Answer>) {
        let (tx, rx) = oneshot::channel();
        (Question { filter: key.into(), value: value.into(), answer: tx }, rx)
    }

    #[test]
    fn a_batch_takes_one_key_and_at_most_the_filter_limit_of_values() {
        let mut waiting: Vec<Question> = Vec::new();
        let mut keep = Vec::new();
        for i in 0..MAX_FILTER_VALUES + 5 {
            let (question, rx) = q("tag:owner", &format!("uid-{i}"));
            waiting.push(question);
            keep.push(rx);
        }
        let (question, rx) = q("group-id", "sg-1");
        waiting.insert(1, question);
        keep.push(rx);
        // A repeated value rides along without taking a slot.
        let (question, rx) = q("tag:owner", "uid-0");
        waiting.push(question);
        keep.push(rx);

        let (key, batch) = next_batch(&mut waiting);
        assert_eq!(key, "tag:owner");
        let distinct: BTreeSet<&str> = batch.iter().map(|q| q.value.as_str()).collect();
        assert_eq!(distinct.len(), MAX_FILTER_VALUES);
        assert_eq!(batch.len(), MAX_FILTER_VALUES + 1, "the repeated uid-0 is in the batch");
        assert!(batch.iter().all(|q| q.filter == "tag:owner"));
        assert_eq!(waiting.len(), 6, "5 owner values over the limit and the other filter wait");
        assert_eq!(waiting[0].filter, "group-id", "order kept");

        let (key, batch) = next_batch(&mut waiting);
        assert_eq!((key.as_str(), batch.len()), ("group-id", 1));
        let (key, batch) = next_batch(&mut waiting);
        assert_eq!((key.as_str(), batch.len()), ("tag:owner", 5));
        assert!(next_batch(&mut waiting).1.is_empty());
    }

    /// Against the emulator, with the unmodified SDK: thirty volumes asking at once cost one
    /// DescribeSecurityGroups, and each gets exactly its own group.
    #[tokio::test]
    async fn lookups_asked_together_share_one_call_and_get_their_own_groups() -> anyhow::Result<()> {
        use std::collections::BTreeMap;

        let emulator = aws_emulator::Emulator::start(aws_emulator::EmulatorConfig::default()).await?;
        let aws = crate::aws::against(&emulator).await;
        let vpc = emulator.seed().vpc_id.clone();
        let mut made = BTreeMap::new();
        for i in 0..30 {
            let tags = BTreeMap::from([("owner".to_string(), format!("uid-{i}"))]);
            made.insert(format!("uid-{i}"), aws.create_security_group(&vpc, &format!("g-{i}"), "test", &tags).await?);
        }
        emulator.reset_calls();

        let asks = (0..32).map(|i| {
            let aws = aws.clone();
            // uid-30 and uid-31 own nothing.
            async move { (format!("uid-{i}"), aws.security_groups_tagged("owner", &format!("uid-{i}")).await) }
        });
        let answers = futures::future::join_all(asks).await;
        assert_eq!(emulator.calls().count("ec2", "DescribeSecurityGroups"), 1, "one call for all 32");
        for (uid, answer) in answers {
            let ids: Vec<String> = answer?.into_iter().map(|g| g.id).collect();
            let expected: Vec<String> = made.get(&uid).cloned().into_iter().collect();
            assert_eq!(ids, expected, "{uid}");
        }

        // A lone lookup later is one call of its own.
        let alone = aws.security_groups_tagged("owner", "uid-7").await?;
        assert_eq!(alone.len(), 1);
        assert_eq!(emulator.calls().count("ec2", "DescribeSecurityGroups"), 2);

        // Checks of known groups by ID share a call too; a missing one is None, not an error
        // for the batch (as it would be with GroupIds).
        let ids: Vec<String> = made.values().cloned().chain(["sg-0000000000000dead".to_string()]).collect();
        let checks = ids.iter().map(|id| {
            let aws = aws.clone();
            async move { (id.clone(), aws.describe_security_group(id).await) }
        });
        for (id, found) in futures::future::join_all(checks).await {
            let found = found?;
            if made.values().any(|m| *m == id) {
                assert_eq!(found.map(|g| g.id), Some(id));
            } else {
                assert!(found.is_none(), "{id} does not exist");
            }
        }
        assert_eq!(emulator.calls().count("ec2", "DescribeSecurityGroups"), 3, "one call for 31 checks");
        Ok(())
    }
}
