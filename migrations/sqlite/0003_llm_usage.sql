-- One row per completion the LLM chain returned (host/llm/budget.rs): who
-- answered, the tokens, what it cost, and whether the response cache served
-- it. The daily budget sums `cost_micro_usd` since UTC midnight, so spending
-- survives restarts. Costs are integer micro-dollars: sums stay exact.
CREATE TABLE llm_usage (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    at             INTEGER NOT NULL,
    provider       TEXT NOT NULL,
    model          TEXT NOT NULL,
    input_tokens   INTEGER NOT NULL,
    output_tokens  INTEGER NOT NULL,
    cost_micro_usd INTEGER NOT NULL,
    -- Served from the response cache: nothing was sent, nothing was spent.
    cached         INTEGER NOT NULL DEFAULT 0,
    -- The model had a price; 0 means the cost is an unknown recorded as 0.
    priced         INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX llm_usage_at ON llm_usage (at);
