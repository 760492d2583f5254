//! Every policy shipped in `policies/` parses and passes its own test cases.

use std::collections::HashMap;

use agentiq::config;
use agentiq::pipeline::cases::run_cases;
use agentiq::shop::Shop;

use crate::helpers::repo;

#[tokio::test]
async fn every_shipped_policy_passes_its_own_tests() {
    let mut files: Vec<_> = std::fs::read_dir(repo().join("policies"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 6,
        "the demo policy and five cookbook policies: {files:?}"
    );
    for file in files {
        let toml = format!(
            "[database]\npath = \"unused.db\"\n[shops.s]\npolicy = \"{}\"\nprompts = \"{}\"\n[shops.s.wildberries]\ntoken = \"t\"\n",
            file.display(),
            repo().join("prompts/default").display()
        );
        let settings = config::load_from_str(&toml, "test", repo(), HashMap::new()).unwrap();
        let shop = Shop::build_offline("s", &settings, &Default::default())
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let policy = shop.policy.load_full();
        assert!(
            policy.tests.len() >= 3,
            "{} has only {} test cases",
            file.display(),
            policy.tests.len()
        );
        let failed: Vec<String> = run_cases(&shop, &policy)
            .await
            .into_iter()
            .filter(|o| !o.passed)
            .map(|o| {
                format!(
                    "{}:{} `{}`: {}",
                    file.display(),
                    o.line,
                    o.name,
                    o.explanation
                )
            })
            .collect();
        assert!(failed.is_empty(), "{}", failed.join("\n"));
    }
}
