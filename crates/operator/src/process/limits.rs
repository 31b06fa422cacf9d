//! Every throughput knob of the operator, in one place. Each is measured in BENCHMARKS.md at the
//! default settings; the AWS ones can be changed with flags (chart values), the others are fixed.
//!
//! | knob | default | bounds | flag / chart value |
//! |---|---|---|---|
//! | [`AWS_CALLS_PER_SECOND`] | 100 | AWS calls a second, FSx and EC2 together (token bucket) | `--aws-max-calls-per-second` / `awsMaxCallsPerSecond` |
//! | [`AWS_CREATIONS_PER_SECOND`] | 10 | CreateFileSystem calls a second, within the above | `--aws-max-creations-per-second` / `awsMaxCreationsPerSecond` |
//! | [`DESCRIBE_BATCH`] | 50 | file system IDs per DescribeFileSystems (FSx's own limit) | - |
//! | [`APISERVER_IN_FLIGHT`] | 32 | apiserver requests in flight (tower's concurrency limit) | - |
//! | [`CONCURRENT_PASSES`] | 256 | LustreVolume passes at once (kube's controller concurrency) | - |
//!
//! The poller's timing (how often a changing file system is looked at) is `aws::poller::schedule`.

/// At most this many AWS calls per second, FSx and EC2 together, in bursts of at most as many.
pub const AWS_CALLS_PER_SECOND: u32 = 100;

/// Of those, at most this many CreateFileSystem calls per second. File systems then finish no
/// faster than the cluster's PV binder binds their claims, and a runaway apply creates file
/// systems at a bounded pace.
pub const AWS_CREATIONS_PER_SECOND: u32 = 10;

/// FSx's limit on IDs per DescribeFileSystems call.
pub const DESCRIBE_BATCH: usize = 50;

/// At most this many of the operator's apiserver requests in flight at once.
///
/// A thousand volumes reconciled at once (a restart, a deletion of all of them) each send their
/// requests at the same moment. Over HTTP/1.1 every request in flight needs a connection of its
/// own, so the client opened about 250 TLS connections to the apiserver, each with its buffers in
/// the operator (about 12 MiB together) and a handshake's work on both sides. Queued instead, they
/// share a few connections: the apiserver serves them no slower, since it works through them a
/// few at a time anyway. A request holds its slot until its answer starts, so a watch holds one
/// only while it is being opened. The leader lease is renewed through a client without this
/// limit (`main.rs`).
pub const APISERVER_IN_FLIGHT: usize = 32;

/// How many LustreVolume passes run at once (kube's `controller::Config::concurrency`); the
/// others wait in the controller's queue, holding nothing but their key. A pass under way holds
/// its requests, the answers and its step's state while it queues for the apiserver and the AWS
/// call budget: when 1000 volumes were deleted at once with no limit, all 1000 passes ran together
/// and the operator's anonymous memory grew from 33 to 51 MiB for the 20 s of the deletion
/// (BENCHMARKS.md). 256 keep the AWS call budget busy and the poller's batches full: at 128 the
/// deletion of 1000 took 32.5 s instead of 30.4 s, with more DescribeFileSystems calls.
pub const CONCURRENT_PASSES: u16 = 256;

/// The apiserver request limit, for `kube::client::ClientBuilder::with_layer`.
pub fn apiserver_in_flight() -> tower::limit::GlobalConcurrencyLimitLayer {
    tower::limit::GlobalConcurrencyLimitLayer::new(APISERVER_IN_FLIGHT)
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::{Context, Poll};
    use std::time::Duration;
    use tower_layer::Layer;
    use tower_service::Service;

    /// A service that counts the calls in progress and remembers the most at once.
    #[derive(Clone, Default)]
    struct Counting {
        now: Arc<AtomicUsize>,
        most: Arc<AtomicUsize>,
    }

    impl Service<u32> for Counting {
        type Response = u32;
        type Error = std::convert::Infallible;
        type Future = Pin<Box<dyn Future<Output = Result<u32, Self::Error>> + Send>>;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, n: u32) -> Self::Future {
            let (now, most) = (self.now.clone(), self.most.clone());
            Box::pin(async move {
                let in_flight = now.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(in_flight, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(5)).await;
                now.fetch_sub(1, Ordering::SeqCst);
                Ok(n * 2)
            })
        }
    }

    #[tokio::test]
    async fn a_burst_of_calls_runs_a_few_at_a_time_and_every_call_is_answered() {
        let counting = Counting::default();
        let mut service = tower::limit::GlobalConcurrencyLimitLayer::new(4).layer(counting.clone());
        let mut answers = Vec::new();
        for n in 0..100u32 {
            futures::future::poll_fn(|cx| service.poll_ready(cx)).await.expect("infallible");
            answers.push(tokio::spawn(service.call(n)));
        }
        let answers: Vec<u32> = futures::future::join_all(answers)
            .await
            .into_iter()
            .map(|r| r.expect("the task ran").expect("infallible"))
            .collect();
        assert_eq!(answers, (0..100u32).map(|n| n * 2).collect::<Vec<_>>());
        assert_eq!(counting.most.load(Ordering::SeqCst), 4, "at most 4 in flight, and the limit was reached");
        assert_eq!(counting.now.load(Ordering::SeqCst), 0);
    }
}
