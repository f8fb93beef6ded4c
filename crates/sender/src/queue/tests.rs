//! The queue on Postgres, handed from one instance to another: what the first owner accepted
//! and never sent is sent by the next owner, once, with the same job id and `random_id`, and
//! a retry with the same idempotency key gets that send's answer.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use cluster::{Cluster, Lease};
use testkit::postgres::Postgres;
use tokio::sync::mpsc;

use super::lanes::{Resolved, Resolver};
use super::store::{Answer, Job, PostgresQueue, StoredBody};
use super::{QueueConfig, Runner, SendQueue, intake};

const ACCOUNT: &str = "shop";

fn config(cluster: &Cluster, lease: &Lease) -> QueueConfig {
    QueueConfig {
        path: ":memory:".into(),
        postgres: Some(PostgresQueue {
            cluster: cluster.clone(),
            fence: lease.fence_token(),
        }),
        pacing: None,
        max_wait: Duration::from_secs(30),
        keep: Duration::from_secs(3600),
        result_webhook: None,
        peer_flood_pause: Duration::from_secs(60),
        max_attempts: 1,
        body_limit: 100 << 20,
        chat_concurrency: 1,
    }
}

/// A runner that reports every job it is given, then answers `answer` (or never, for `None`:
/// an owner that dies before its sends are done).
fn runner(answer: Option<Answer>) -> (Runner, mpsc::UnboundedReceiver<Job>) {
    let (tried, jobs) = mpsc::unbounded_channel();
    let runner: Runner = Arc::new(move |job: Job| {
        let _ = tried.send(job);
        let answer = answer.clone();
        Box::pin(async move {
            match answer {
                Some(answer) => (answer, None),
                None => futures::future::pending().await,
            }
        })
    });
    (runner, jobs)
}

fn no_usernames() -> Resolver {
    Arc::new(|_| Box::pin(async { Resolved::Unknown }))
}

fn send_message(key: &str, asynchronous: bool) -> Request<Body> {
    let mut request = Request::post("/api_v1/sendMessage")
        .header("content-type", "application/json")
        .header(intake::IDEMPOTENCY_HEADER, key);
    if asynchronous {
        request = request.header("prefer", "respond-async");
    }
    request
        .body(Body::from(r#"{"chat_id":42,"text":"hi"}"#))
        .expect("request")
}

/// A multipart upload large enough to be spooled to a file on the way in.
fn upload() -> (Request<Body>, Vec<u8>) {
    let mut body =
        b"--XB\r\nContent-Disposition: form-data; name=\"chat_id\"\r\n\r\n43\r\n--XB\r\n\
        Content-Disposition: form-data; name=\"document\"; filename=\"a.bin\"\r\n\r\n"
            .to_vec();
    body.extend((0..2 * intake::SPOOL_ABOVE).map(|i| (i % 251) as u8));
    body.extend_from_slice(b"\r\n--XB--\r\n");
    let request = Request::post("/api_v1/sendDocument")
        .header("content-type", "multipart/form-data; boundary=XB")
        .header("prefer", "respond-async")
        .body(Body::from(body.clone()))
        .expect("request");
    (request, body)
}

async fn acquire(cluster: &Cluster) -> Lease {
    cluster
        .acquire(ACCOUNT, Duration::from_secs(60))
        .await
        .expect("acquire")
        .expect("the lease is free")
}

async fn next(jobs: &mut mpsc::UnboundedReceiver<Job>) -> Job {
    tokio::time::timeout(Duration::from_secs(10), jobs.recv())
        .await
        .expect("a send is tried within 10 s")
        .expect("the runner is alive")
}

#[tokio::test]
async fn the_next_owner_sends_what_the_last_accepted_once_with_its_random_id() {
    let server = Postgres::start().await;
    let url = server.create_database("queue");
    let a = Cluster::connect(&url, "a", 4).await.expect("connect");
    let b = Cluster::connect(&url, "b", 4).await.expect("connect");
    a.register_account(ACCOUNT, &serde_json::json!({}))
        .await
        .expect("register");

    // The first owner accepts two asynchronous sends, starts them and dies before any is done.
    let lease = acquire(&a).await;
    let (dying, mut tried_by_a) = runner(None);
    let first = SendQueue::start(config(&a, &lease), dying, no_usernames())
        .await
        .expect("start");
    let accepted = first.handle("sendMessage", send_message("k1", true)).await;
    assert_eq!(accepted.status(), StatusCode::ACCEPTED);
    let (request, uploaded) = upload();
    let accepted = first.handle("sendDocument", request).await;
    assert_eq!(accepted.status(), StatusCode::ACCEPTED);
    let mut started = [next(&mut tried_by_a).await, next(&mut tried_by_a).await];
    started.sort_by_key(|job| job.id);
    assert!(
        started[1].body.file().is_some(),
        "the upload went to a spool file"
    );
    a.release_now(lease).await.expect("release");

    // The next owner resumes both from the rows, the upload's body included.
    let lease = acquire(&b).await;
    let sent = Answer {
        status: 200,
        body: r#"{"ok":true,"result":{"message_id":7}}"#.into(),
    };
    let (live, mut tried_by_b) = runner(Some(sent.clone()));
    let second = SendQueue::start(config(&b, &lease), live, no_usernames())
        .await
        .expect("start");
    let mut resumed = [next(&mut tried_by_b).await, next(&mut tried_by_b).await];
    resumed.sort_by_key(|job| job.id);
    for (then, now) in started.iter().zip(&resumed) {
        assert_eq!(
            (
                now.id,
                now.random_id,
                now.method.as_str(),
                now.lane.as_str()
            ),
            (
                then.id,
                then.random_id,
                then.method.as_str(),
                then.lane.as_str()
            )
        );
    }
    let StoredBody::Inline(body) = &resumed[1].body else {
        panic!("a resumed body comes from its row")
    };
    assert!(body[..] == uploaded[..], "the spooled upload, whole");

    // A retry of the keyed send gets its answer, and nothing is sent again.
    let retried = second
        .handle("sendMessage", send_message("k1", false))
        .await;
    assert_eq!(retried.status(), StatusCode::OK);
    assert_eq!(Answer::read(retried).await.body, sent.body);
    assert!(tried_by_b.try_recv().is_err(), "sent once");
}
