-- One row per completion the LLM chain returned (host/llm/budget.rs): who
-- answered, the tokens, what it cost, and whether the response cache served
-- it. The daily budget sums `cost_micro_usd` since UTC midnight, so spending
-- survives restarts. Costs are integer micro-dollars: sums stay exact.
CREATE TABLE llm_usage (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at             BIGINT NOT NULL,
    provider       TEXT NOT NULL,
    model          TEXT COLLATE "C" NOT NULL,
    input_tokens   BIGINT NOT NULL,
    output_tokens  BIGINT NOT NULL,
    cost_micro_usd BIGINT NOT NULL,
    -- Served from the response cache: nothing was sent, nothing was spent.
    cached         BOOLEAN NOT NULL DEFAULT FALSE,
    -- The model had a price; FALSE means the cost is an unknown recorded as 0.
    priced         BOOLEAN NOT NULL DEFAULT TRUE
);
CREATE INDEX llm_usage_at ON llm_usage (at);
