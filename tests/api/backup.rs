//! `agentiq backup` against a running daemon's database, and `status` showing its size.

use rusqlite::{Connection, OpenFlags};

use crate::helpers::{TestApp, binary, wait_until};

async fn cli(app: &TestApp, args: &[&str]) -> (i32, String, String) {
    let out = tokio::process::Command::new(binary())
        .args(args)
        .arg("--config")
        .arg(app.config_path())
        .output()
        .await
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

fn counts(c: &Connection) -> [i64; 4] {
    ["messages", "chats", "drafts", "draft_events"].map(|table| {
        c.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    })
}

#[tokio::test]
async fn a_running_daemons_database_is_backed_up_into_a_file_that_opens_whole() {
    let mut app = TestApp::spawn().await;
    let mut chats = Vec::new();
    for i in 0..12 {
        chats.push(
            app.buyer_writes(&format!("Когда привезут заказ номер {i}?"))
                .await
                .chat_id,
        );
    }
    for chat in &chats {
        app.wait_for_draft(chat).await;
    }
    // The daemon keeps polling (and writing its status) during the backup.
    let target = app.dir.path().join("copy.db");
    let (code, out, err) = cli(&app, &["backup", target.to_str().unwrap()]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("integrity ok"), "{out}");
    assert!(
        !app.dir.path().join("copy.db-wal").exists(),
        "the copy is a single file"
    );

    let copy = Connection::open_with_flags(&target, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let check: String = copy
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let copied = counts(&copy);
    let live = app.store.call(|c| Ok(counts(c))).await.unwrap();
    assert_eq!(copied, live, "messages, chats, drafts, audit rows");
    assert_eq!(copied[0], 12);

    // A second backup to the same path is refused rather than overwriting it.
    let (code, _, err) = cli(&app, &["backup", target.to_str().unwrap()]).await;
    assert_ne!(code, 0);
    assert!(err.contains("already exists"), "{err}");

    // The copy is a database the daemon starts on: restore it as the README
    // says (stop, replace the file, drop the old -wal and -shm, start) and see
    // the daemon go on from it. The test's own connection still holds the old
    // file, so the restored one is read through a fresh connection.
    app.stop().await;
    let live_db = app.settings.database_path();
    for suffix in ["", "-wal", "-shm"] {
        let mut p = live_db.clone().into_os_string();
        p.push(suffix);
        if std::path::Path::new(&p).exists() {
            std::fs::remove_file(p).unwrap();
        }
    }
    std::fs::copy(&target, &live_db).unwrap();
    app.start().await;
    app.buyer_writes("А можно поменять адрес доставки?").await;
    let restored = agentiq::store::Store::open(&live_db).unwrap();
    let after = wait_until("a draft in the restored database", || async {
        let now = restored.read(|c| Ok(counts(c))).await.unwrap();
        (now[2] > copied[2]).then_some(now)
    })
    .await;
    assert_eq!(after[2], copied[2] + 1, "the restored drafts and one more");
    assert_eq!(after[0], copied[0] + 1);
    app.stop().await;
}

#[tokio::test]
async fn status_shows_the_database_size() {
    let app = TestApp::spawn().await;
    let posted = app.buyer_writes("Здравствуйте").await;
    app.wait_for_draft(&posted.chat_id).await;
    let (code, out, err) = cli(&app, &["status"]).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Database: "), "{out}");
    assert!(out.contains("MiB"), "{out}");
    let (code, out, _) = wait_until("status --json", || async {
        let r = cli(&app, &["status", "--json"]).await;
        (r.0 == 0).then_some(r)
    })
    .await;
    assert_eq!(code, 0);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(json["database_bytes"].as_u64().unwrap() > 0, "{json}");
}
