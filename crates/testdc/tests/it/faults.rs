//! Fault injection: RPC errors for the next N calls, dropped connections, added latency; and
//! stopping the DC.

use std::time::{Duration, Instant};

use grammers_client::tl;
use testdc::{Fixture, SendText, TestDc, TestDcConfig};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

use crate::{Harness, WAIT, harness, rpc_name};

#[tokio::test]
async fn injected_errors_answer_the_next_n_calls_then_stop() {
    let h = harness().await;
    h.dc.fail_next("updates.getState", 2, "FLOOD_WAIT_7");
    for _ in 0..2 {
        match h.client.invoke(&tl::functions::updates::GetState {}).await {
            Err(grammers_client::InvocationError::Rpc(e)) => {
                assert_eq!(
                    (e.code, e.name.as_str(), e.value),
                    (420, "FLOOD_WAIT", Some(7))
                );
            }
            other => panic!("expected FLOOD_WAIT_7, got {other:?}"),
        }
    }
    assert!(
        h.client
            .invoke(&tl::functions::updates::GetState {})
            .await
            .is_ok()
    );
    h.dc.fail_next("users.getUsers", 1, "INTERNAL");
    let r = h
        .client
        .invoke(&tl::functions::users::GetUsers {
            id: vec![tl::enums::InputUser::UserSelf],
        })
        .await;
    assert_eq!(rpc_name(r), "INTERNAL");
}

#[tokio::test]
async fn dropped_connections_reconnect_on_the_next_call() {
    let h = harness().await;
    h.client
        .invoke(&tl::functions::updates::GetState {})
        .await
        .unwrap();
    h.dc.drop_connections();
    // The first call may race the close and fail with an I/O error; a retry gets a new connection.
    let mut ok = false;
    for _ in 0..3 {
        if tokio::time::timeout(WAIT, h.client.invoke(&tl::functions::updates::GetState {}))
            .await
            .unwrap()
            .is_ok()
        {
            ok = true;
            break;
        }
    }
    assert!(ok, "no call succeeded after the drop");
}

#[tokio::test]
async fn stop_refuses_new_connections_and_returns_once_every_open_one_is_closed() {
    let Harness { dc, client, _dir } = harness().await;
    client
        .invoke(&tl::functions::updates::GetState {})
        .await
        .unwrap();
    let addr = dc.addr();
    let mut raw = TcpStream::connect(addr).await.unwrap();
    tokio::time::timeout(WAIT, dc.stop()).await.unwrap();
    assert!(TcpStream::connect(addr).await.is_err(), "still accepting");
    // Closed by the server by now (or never accepted, and reset with the listener).
    let mut byte = [0u8; 1];
    let read = tokio::time::timeout(WAIT, raw.read(&mut byte))
        .await
        .unwrap();
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    let call = tokio::time::timeout(WAIT, client.invoke(&tl::functions::updates::GetState {}));
    assert!(call.await.unwrap().is_err(), "answered after the stop");
}

#[tokio::test]
async fn latency_delays_replies() {
    let h = harness().await;
    h.client
        .invoke(&tl::functions::updates::GetState {})
        .await
        .unwrap();
    h.dc.set_latency(Duration::from_millis(300));
    let start = Instant::now();
    h.client
        .invoke(&tl::functions::updates::GetState {})
        .await
        .unwrap();
    // A lower bound only: latency is added, never removed.
    assert!(start.elapsed() >= Duration::from_millis(300));
    h.dc.set_latency(Duration::ZERO);
}

#[tokio::test]
async fn refuses_to_bind_beyond_loopback() {
    let config = TestDcConfig {
        bind: "0.0.0.0:0".parse().unwrap(),
        ..TestDcConfig::default()
    };
    assert!(matches!(
        TestDc::start(config).await,
        Err(testdc::ControlError::NotLoopback(_))
    ));
}

#[tokio::test]
async fn wait_outgoing_sees_sends_before_and_after_the_call() {
    let h = harness().await;
    let alice = Fixture::DEFAULT.alice;
    assert!(matches!(
        h.dc.wait_outgoing(alice, 0, Duration::from_millis(50))
            .await,
        Err(testdc::ControlError::Timeout(_))
    ));
    let peer = crate::user_ref(&h, alice);
    let client = h.client.clone();
    let sent = tokio::spawn(async move {
        client.send_message(peer, "from the account").await.unwrap();
    });
    let seen = h.dc.wait_outgoing(alice, 0, WAIT).await.unwrap();
    assert_eq!(seen.text, "from the account");
    assert!(seen.out);
    sent.await.unwrap();
    // A user message is not an outgoing one.
    h.dc.send_text(SendText {
        from: None,
        chat_id: alice,
        text: "reply".into(),
        reply_to_message_id: Some(seen.message_id),
    })
    .unwrap();
    assert!(
        h.dc.wait_outgoing(alice, seen.message_id, Duration::from_millis(50))
            .await
            .is_err()
    );
}
