//! `kill -9` of the real daemon in the middle of a send, then a restart.

use agentiq::domain::DraftState;
use serde_json::json;

use crate::helpers::{Daemon, TestApp, wait_until};

async fn approve_and_kill_mid_send(
    fault: serde_json::Value,
    accepted_before_kill: bool,
) -> TestApp {
    let app = TestApp::builder().spawn_without_daemon().await;
    let daemon = Daemon::start(&app.config_path());
    let posted = app.buyer_writes("Когда будет в наличии синий цвет?").await;
    let draft = app.wait_for_draft(&posted.chat_id).await;
    app.fault(fault).await;

    app.approve(
        draft.id,
        Some("Синий ожидаем на складе, напишем вам.".into()),
    )
    .await
    .unwrap();
    if accepted_before_kill {
        // The answer to the send is held back; the chat's history may show
        // the message (and settle the draft) before it comes.
        wait_until("the simulator to accept the message", || async {
            (app.sent().await.len() == 1).then_some(())
        })
        .await;
    } else {
        app.wait_for_state(draft.id, DraftState::Sending).await;
    }
    daemon.kill_9().await;
    let state = app.draft(draft.id).await.state;
    if accepted_before_kill {
        assert!(
            matches!(state, DraftState::Sending | DraftState::Sent),
            "{state:?}"
        );
    } else {
        assert_eq!(state, DraftState::Sending, "killed mid-send");
    }

    let daemon = Daemon::start(&app.config_path());
    app.wait_for_state(draft.id, DraftState::Sent).await;
    app.drain_process().await;
    daemon.kill_9().await;
    app
}

#[tokio::test]
async fn a_send_accepted_just_before_kill_9_is_not_sent_again() {
    let app = approve_and_kill_mid_send(
        json!({ "kind": "slow_after_accept", "delay_ms": 10000, "path": "/api/v1/seller/message" }),
        true,
    )
    .await;
    assert_eq!(
        app.sent_texts().await,
        ["Синий ожидаем на складе, напишем вам."]
    );
}

#[tokio::test]
async fn a_send_cut_off_by_kill_9_before_acceptance_is_delivered_once_after_restart() {
    let app = approve_and_kill_mid_send(
        json!({ "kind": "delay", "delay_ms": 3000, "path": "/api/v1/seller/message" }),
        false,
    )
    .await;
    // The delayed request completes inside the simulator after the kill only if
    // the connection survived; it did not, so exactly the resend arrives.
    wait_until("the simulator to finish answering", || async {
        (app.sim_in_flight().await == 0).then_some(())
    })
    .await;
    assert_eq!(
        app.sent_texts().await,
        ["Синий ожидаем на складе, напишем вам."]
    );
}
