//! At most a few of the operator's apiserver requests in flight at once.
//!
//! A thousand volumes reconciled at once (a restart, a deletion of all of them) each send their
//! requests at the same moment. Over HTTP/1.1 every request in flight needs a connection of its
//! own, so the client opened about 250 TLS connections to the apiserver, each with its buffers in
//! the operator (about 12 MiB together) and a handshake's work on both sides. Queued here instead,
//! they share a few connections: the apiserver serves them no slower, since it works through them
//! a few at a time anyway.
//!
//! A request holds its slot until its answer starts, so a watch holds one only while it is being
//! opened. The leader lease is renewed through a client without this layer (`main.rs`).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tower_layer::Layer;
use tower_service::Service;

/// At most this many of the operator's apiserver requests in flight.
pub const IN_FLIGHT: usize = 32;

/// The layer for `kube::client::ClientBuilder::with_layer`.
#[derive(Clone)]
pub struct InFlightLimit {
    slots: Arc<Semaphore>,
}

impl InFlightLimit {
    pub fn new(in_flight: usize) -> InFlightLimit {
        InFlightLimit { slots: Arc::new(Semaphore::new(in_flight)) }
    }
}

impl<S> Layer<S> for InFlightLimit {
    type Service = Limited<S>;

    fn layer(&self, inner: S) -> Limited<S> {
        Limited { inner, slots: self.slots.clone(), waiting: None, slot: None }
    }
}

type Waiting = Pin<Box<dyn Future<Output = Option<OwnedSemaphorePermit>> + Send>>;

/// A service that is ready only with a free slot, which its call then holds until answered.
pub struct Limited<S> {
    inner: S,
    slots: Arc<Semaphore>,
    /// Waiting for a slot.
    waiting: Option<Waiting>,
    /// The slot taken by `poll_ready` for the next call (None inside: the semaphore was closed,
    /// which never happens, and then the call goes without one).
    slot: Option<Option<OwnedSemaphorePermit>>,
}

impl<S, R> Service<R> for Limited<S>
where
    S: Service<R>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        if self.slot.is_none() {
            let slots = self.slots.clone();
            let waiting = self.waiting.get_or_insert_with(|| Box::pin(async move { slots.acquire_owned().await.ok() }));
            match waiting.as_mut().poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(slot) => {
                    self.waiting = None;
                    self.slot = Some(slot);
                }
            }
        }
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: R) -> Self::Future {
        let slot = self.slot.take();
        let answer = self.inner.call(request);
        Box::pin(async move {
            let _slot = slot;
            answer.await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

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
        let mut service = InFlightLimit::new(4).layer(counting.clone());
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
