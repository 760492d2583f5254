//! Faults from outside: a marketplace that errs, throttles, stalls or talks
//! nonsense; a database another process locks; a full disk; a stop request.
//! Each time the daemon keeps running, says what is wrong, and recovers with
//! nothing lost or doubled.

use std::path::{Path, PathBuf};
use std::time::Duration;

use agentiq::domain::DraftState;
use agentiq::store::ConnectorState;
use serde_json::{Value, json};

use crate::helpers::{Daemon, TestApp, wait_until};

const EVENTS: &str = "/api/v1/seller/events";

async fn connector_state(app: &TestApp) -> Option<(ConnectorState, String)> {
    let rows = app
        .store
        .call(|c| agentiq::store::list_status(c))
        .await
        .ok()?;
    rows.into_iter()
        .next()
        .map(|r| (r.state, r.detail.unwrap_or_default()))
}

/// Waits until the connector's next try is planned at least `ms` after its
/// trouble began: the waits between tries have grown that far.
async fn retry_planned(app: &TestApp, ms: i64) {
    wait_until(
        &format!("the next try to be planned {ms} ms out"),
        || async {
            let ahead = app
                .count("SELECT COALESCE(MAX(retry_at - since), 0) FROM connector_status")
                .await;
            (ahead >= ms).then_some(())
        },
    )
    .await;
}

async fn healthz(app: &TestApp) -> (u16, Value) {
    let addr = app.web.expect("the web server runs");
    let r = app
        .http
        .get(format!("http://{addr}/healthz"))
        .send()
        .await
        .unwrap();
    let code = r.status().as_u16();
    (code, r.json().await.unwrap_or(Value::Null))
}

async fn stored_messages(app: &TestApp) -> i64 {
    app.count("SELECT COUNT(*) FROM messages WHERE author = 'buyer'")
        .await
}

/// A buyer's message gets a draft, the approved reply is delivered once.
async fn one_delivery(app: &TestApp, chat_id: &str, reply: &str) {
    let draft = app.wait_for_draft(chat_id).await;
    app.approve(draft.id, Some(reply.into())).await.unwrap();
    app.wait_for_state(draft.id, DraftState::Sent).await;
    app.drain().await;
    assert_eq!(app.sent_texts().await, [reply]);
}

#[tokio::test]
async fn a_burst_of_server_errors_is_shown_backed_off_and_outlived() {
    let app = TestApp::builder().web().spawn().await;
    app.fault(json!({ "kind": "status", "status": 503, "path": EVENTS, "times": 0 }))
        .await;
    let posted = app
        .buyer_writes("Добрый день, когда отправите заказ?")
        .await;

    let (_, detail) = wait_until("the shop to show the outage", || async {
        connector_state(&app)
            .await
            .filter(|(s, _)| *s == ConnectorState::Degraded)
    })
    .await;
    assert!(detail.contains("503"), "{detail}");
    let (code, body) = healthz(&app).await;
    assert_eq!(code, 503, "{body}");
    assert_eq!(body["connectors"][0]["state"], "degraded", "{body}");
    // Backing off: the wait doubles with each failure, so the next try is
    // planned 3 s after the outage began after a handful of polls, where the
    // 100 ms interval would have made thirty.
    retry_planned(&app, 3_000).await;
    let polls = app
        .requests()
        .await
        .iter()
        .filter(|r| r["path"] == EVENTS && r["status"] == 503)
        .count();
    assert!(
        polls <= 6,
        "{polls} polls before the retry was planned 3 s out"
    );

    app.sim.sim.clear_faults();
    one_delivery(&app, &posted.chat_id, "Отправим сегодня вечером.").await;
    assert_eq!(stored_messages(&app).await, 1);
    wait_until("the shop to be healthy again", || async {
        let (code, _) = healthz(&app).await;
        (code == 200).then_some(())
    })
    .await;
}

#[tokio::test]
async fn malformed_and_mistyped_answers_are_survived() {
    let app = TestApp::spawn().await;
    // One of each: the poller backs off after each failure, so more would
    // only make the test slow.
    app.fault(json!({ "kind": "garbage", "path": EVENTS, "times": 1 }))
        .await;
    app.fault(json!({
        "kind": "garbage", "path": EVENTS, "times": 1,
        "body": r#"{"result":{"next":"soon","totalEvents":"many","events":[{"chatID":42,"eventID":null}]}}"#
    }))
    .await;
    app.fault(json!({
        "kind": "garbage", "path": EVENTS, "times": 1,
        "body": r#"{"result":{"next":1,"totalEvents":1,"events":[{"message":{"text":7}}]}}"#
    }))
    .await;
    let posted = app.buyer_writes("Подскажите, есть ли размер M?").await;

    let (_, detail) = wait_until("the shop to show unreadable answers", || async {
        connector_state(&app)
            .await
            .filter(|(s, _)| *s == ConnectorState::Degraded)
    })
    .await;
    assert!(detail.contains("непонятный ответ"), "{detail}");
    one_delivery(&app, &posted.chat_id, "Да, размер M есть.").await;
    assert_eq!(stored_messages(&app).await, 1);
}

#[tokio::test]
async fn answers_slower_than_the_timeout_are_given_up_on_and_retried() {
    let app = TestApp::spawn().await;
    app.fault(json!({ "kind": "delay", "delay_ms": 3000, "path": EVENTS, "times": 2 }))
        .await;
    let posted = app
        .buyer_writes("Здравствуйте, можно поменять адрес?")
        .await;
    let (_, detail) = wait_until("the shop to show the timeout", || async {
        connector_state(&app)
            .await
            .filter(|(s, _)| *s == ConnectorState::Degraded)
    })
    .await;
    assert!(detail.contains("время ожидания"), "{detail}");
    one_delivery(
        &app,
        &posted.chat_id,
        "Адрес можно поменять в личном кабинете.",
    )
    .await;
    assert_eq!(stored_messages(&app).await, 1);
}

#[tokio::test]
async fn a_database_locked_by_another_process_is_waited_out() {
    let mut app = TestApp::builder().web().busy_timeout("300ms").spawn().await;
    app.drain().await;
    let db = app.settings.database_path();
    // Another process takes the write lock and holds it.
    let (locked_tx, locked_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch("BEGIN EXCLUSIVE").unwrap();
        locked_tx.send(()).unwrap();
        release_rx.recv().unwrap();
        conn.execute_batch("COMMIT").unwrap();
    });
    locked_rx.recv().unwrap();
    let posted = app.buyer_writes("Добрый вечер, где мой заказ?").await;

    let (code, body) = wait_until("the daemon to report the lock", || async {
        let (code, body) = healthz(&app).await;
        (code == 503 && !body["database"].is_null()).then_some((code, body))
    })
    .await;
    assert_eq!(code, 503);
    assert!(
        body["database"]["problem"]
            .as_str()
            .unwrap_or_default()
            .contains("заблокирована"),
        "{body}"
    );

    release_tx.send(()).unwrap();
    holder.join().unwrap();
    one_delivery(&app, &posted.chat_id, "Заказ в пути, приедет завтра.").await;
    assert_eq!(stored_messages(&app).await, 1);
    wait_until("the database trouble to clear", || async {
        let (_, body) = healthz(&app).await;
        body["database"].is_null().then_some(())
    })
    .await;
    app.stop().await;
}

#[tokio::test]
async fn a_database_error_while_polling_is_shown_as_a_database_error() {
    let app = TestApp::builder().web().spawn().await;
    wait_until("the first poll", || async {
        connector_state(&app)
            .await
            .filter(|(s, _)| *s == ConnectorState::Ok)
    })
    .await;
    app.store
        .call(|c| {
            c.execute_batch(
                "CREATE TRIGGER refuse BEFORE INSERT ON messages BEGIN SELECT RAISE(ABORT, 'messages refused'); END;",
            )?;
            Ok(())
        })
        .await
        .unwrap();
    let posted = app.buyer_writes("Добрый день, где мой заказ?").await;

    let (state, detail) = wait_until("the poller to report the failure", || async {
        connector_state(&app)
            .await
            .filter(|(s, _)| *s != ConnectorState::Ok)
    })
    .await;
    assert_eq!(state, ConnectorState::DatabaseFailed, "{detail}");
    assert!(!detail.contains("площадка"), "{detail}");
    assert!(detail.contains("messages refused"), "{detail}");
    let (code, body) = healthz(&app).await;
    assert_eq!(code, 503);
    assert_eq!(body["connectors"][0]["detail"], json!(detail), "{body}");

    app.store
        .call(|c| Ok(c.execute_batch("DROP TRIGGER refuse")?))
        .await
        .unwrap();
    app.wait_for_draft(&posted.chat_id).await;
    assert_eq!(stored_messages(&app).await, 1);
}

/// A tiny tmpfs, unmounted when dropped.
struct SmallDisk(PathBuf);

impl SmallDisk {
    fn mount(dir: &Path, size: &str) -> Option<SmallDisk> {
        std::fs::create_dir_all(dir).unwrap();
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| SmallDisk(dir.to_path_buf()))
    }

    /// Fill the rest of the disk; returns the filler's path.
    fn fill(&self) -> PathBuf {
        use std::io::Write;
        let path = self.0.join("filler");
        let mut f = std::fs::File::create(&path).unwrap();
        let block = vec![0u8; 64 * 1024];
        while f.write_all(&block).is_ok() {}
        let small = vec![0u8; 512];
        while f.write_all(&small).is_ok() {}
        let _ = f.sync_all();
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

#[tokio::test]
async fn a_full_disk_holds_messages_back_until_there_is_room_again() {
    let scratch = tempfile::tempdir().unwrap();
    let Some(disk) = SmallDisk::mount(&scratch.path().join("disk"), "8m") else {
        // Mounting needs root (as on the CI machine); say so instead of passing silently.
        eprintln!("SKIPPED: cannot mount a small tmpfs here (needs root)");
        return;
    };
    let mut app = TestApp::builder()
        .web()
        .database(disk.0.join("agentiq.db"))
        .spawn()
        .await;
    app.drain().await;
    let filler = disk.fill();
    // SQLite can still write into pages its write-ahead log already holds, so
    // the first messages may fit: buyers keep writing, each in a new chat,
    // until one does not.
    let mut chats = Vec::new();
    let body = loop {
        assert!(chats.len() < 20, "20 messages fitted on a full disk");
        let before = stored_messages(&app).await;
        let posted = app.buyer_writes("Здравствуйте! Товар пришёл мятый.").await;
        chats.push(posted.chat_id);
        let outcome = wait_until("the message stored or the full disk reported", || async {
            let (_, body) = healthz(&app).await;
            if !body["database"].is_null() {
                return Some(Some(body));
            }
            (stored_messages(&app).await > before).then_some(None)
        })
        .await;
        if let Some(body) = outcome {
            break body;
        }
    };
    assert!(
        body["database"]["problem"]
            .as_str()
            .unwrap_or_default()
            .contains("место"),
        "{body}"
    );
    let stored = stored_messages(&app).await;
    assert!(stored <= chats.len() as i64, "{stored} of {}", chats.len());

    std::fs::remove_file(filler).unwrap();
    let last = chats.last().expect("at least one buyer wrote");
    one_delivery(&app, last, "Простите! Оформите возврат, мы всё вернём.").await;
    // Every message is stored once: none lost while the disk was full.
    let every = chats.len() as i64;
    wait_until("every message stored", || async {
        (stored_messages(&app).await == every).then_some(())
    })
    .await;
    assert_eq!(stored_messages(&app).await, every);
    app.stop().await;
    drop(app);
    drop(disk);
}

#[tokio::test]
async fn sigterm_finishes_the_send_in_flight_exits_promptly_and_the_next_start_resumes() {
    let app = TestApp::builder().spawn_without_daemon().await;
    let daemon = Daemon::start(&app.config_path());
    let posted = app.buyer_writes("Когда будет поставка?").await;
    let draft = app.wait_for_draft(&posted.chat_id).await;
    // The marketplace takes its time answering the send.
    app.fault(
        json!({ "kind": "slow_after_accept", "delay_ms": 1500, "path": "/api/v1/seller/message" }),
    )
    .await;
    app.approve(draft.id, Some("Поставка на следующей неделе.".into()))
        .await
        .unwrap();
    // Accepted, its answer still 1.5 s away: the send is in flight. (The
    // chat's history may show the message and settle the draft before the
    // answer comes, so its state is not the signal.)
    wait_until("the simulator to accept the message", || async {
        (app.sent().await.len() == 1).then_some(())
    })
    .await;

    let (status, took) = daemon.terminate().await;
    assert!(status.success(), "{status:?}");
    assert!(took < Duration::from_secs(6), "took {took:?}");
    assert_eq!(
        app.draft(draft.id).await.state,
        DraftState::Sent,
        "the send in flight was finished, not abandoned"
    );

    // While it is down, the buyer writes again; the next start picks it up.
    let again = app.buyer_writes_in(&posted.chat_id, "Спасибо, жду!").await;
    let daemon = Daemon::start(&app.config_path());
    wait_until("the new message to be stored", || async {
        let id = again.message_id.clone();
        let n: i64 = app
            .store
            .call(move |c| {
                Ok(c.query_row(
                    "SELECT COUNT(*) FROM messages WHERE external_id = ?1",
                    [id],
                    |r| r.get(0),
                )?)
            })
            .await
            .unwrap();
        (n == 1).then_some(())
    })
    .await;
    let later = wait_until("a draft for the new message", || async {
        app.drafts()
            .await
            .into_iter()
            .find(|d| d.chat_id == posted.chat_id && d.id != draft.id)
    })
    .await;
    app.drain_process().await;
    daemon.kill_9().await;
    let sent = app.sent_texts().await;
    assert_eq!(
        sent.iter()
            .filter(|t| *t == "Поставка на следующей неделе.")
            .count(),
        1,
        "{sent:?}"
    );
    assert_eq!(later.intent, "thanks");
    assert_eq!(stored_messages(&app).await, 2);
}

async fn events_requests(app: &TestApp) -> usize {
    app.requests()
        .await
        .iter()
        .filter(|r| r["path"] == EVENTS)
        .count()
}

#[tokio::test]
async fn an_event_cursor_that_does_not_advance_is_shown_and_backed_off() {
    let app = TestApp::spawn().await;
    // Every page has an event and says "more", always with the same `next`.
    app.fault(json!({
        "kind": "garbage", "path": EVENTS, "times": 0,
        "body": r#"{"result":{"next":5,"totalEvents":3,"events":[{"chatID":"1:c","eventID":"e1","eventType":"message","sender":"client","addTimestamp":5,"message":{"text":"Есть размер M?"}}]}}"#
    }))
    .await;
    let (_, detail) = wait_until("the stuck cursor to be shown", || async {
        connector_state(&app)
            .await
            .filter(|(s, _)| *s == ConnectorState::Degraded)
    })
    .await;
    assert!(detail.contains("next=5"), "{detail}");
    let before = events_requests(&app).await;
    // Backed off: the next read is planned further out each time.
    retry_planned(&app, 1_500).await;
    let during = events_requests(&app).await - before;
    assert!(
        during <= 5,
        "{during} reads of a stuck page before the retry was planned 1.5 s out"
    );
}

#[tokio::test]
async fn a_long_catch_up_records_the_status_before_it_ends() {
    let mut app = TestApp::builder()
        .sim_config(|c| c.wb_page_size = 1)
        .client_rate(40, "1s")
        .spawn_without_daemon()
        .await;
    let pages = 200;
    for i in 0..pages {
        app.buyer_writes_in("1:long", &format!("Сообщение {i}"))
            .await;
    }
    app.start().await;
    wait_until("a status during the catch-up", || async {
        connector_state(&app).await
    })
    .await;
    let read = events_requests(&app).await;
    assert!(read < pages, "the status came only after {read} pages");
}
