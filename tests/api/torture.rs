//! The crash-and-restart torture harness in its short setting: the real
//! daemon is SIGKILLed at random moments and restarted while buyers write,
//! an operator approves and rejects, thanks are auto-sent and the simulator
//! cuts sends off, across three shops on all four marketplaces.
//! `agentiq torture --kills 30 --marketplaces wb,ozon,ym,avito` is the long setting.

use agentiq::bench::torture::{self, TortureArgs};

use crate::helpers::binary;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_and_restarted_the_daemon_ingests_and_delivers_exactly_once() {
    crate::helpers::setup();
    let report = torture::run(TortureArgs::ci(binary().to_path_buf()))
        .await
        .expect("the harness runs");
    eprintln!("{report:#?}");
    assert!(report.ok(), "violations: {:#?}", report.violations);
    assert_eq!(report.kills, 8);
    assert!(report.buyer_messages > 0 && report.delivered > 0);
    assert!(
        report.approved > 0 && report.rejected > 0 && report.auto_scheduled > 0,
        "the workload mixes approvals, rejections and auto-sends: {report:?}"
    );
}
