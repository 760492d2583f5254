-- LLM calls, tokens and cost per shop, provider, model and (shop-local) day.
CREATE TABLE llm_usage (
    shop              TEXT    NOT NULL,
    provider          TEXT    NOT NULL,
    model             TEXT    NOT NULL,
    day               TEXT    NOT NULL,
    calls             INTEGER NOT NULL DEFAULT 0,
    failures          INTEGER NOT NULL DEFAULT 0,
    prompt_tokens     INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    cost              REAL    NOT NULL DEFAULT 0,
    PRIMARY KEY (shop, provider, model, day)
);
