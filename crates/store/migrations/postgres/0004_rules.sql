-- Message rules: quiet hours, assignment and escalation.

-- Set while a delivery waits out its rule's quiet hours (unix ms the quiet period ends). Such rows are
-- never claimed; when the period ends they are folded into one digest per destination and recipients.
ALTER TABLE deliveries ADD COLUMN quiet_until BIGINT;
CREATE INDEX deliveries_quiet ON deliveries (quiet_until) WHERE quiet_until IS NOT NULL;

-- An event a rule wants handled by someone: who it was assigned to, whether and when it was
-- acknowledged, and when it escalates. One per rule and event, so a retried event keeps its assignee.
CREATE TABLE tasks (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    rule_id     TEXT    NOT NULL,
    event_key   TEXT    NOT NULL,
    shop_id     BIGINT,
    order_sn    TEXT,
    sticky_key  TEXT,
    assignee    TEXT,
    summary     TEXT    NOT NULL,
    token       TEXT    NOT NULL UNIQUE,
    state       TEXT    NOT NULL,
    created_at  BIGINT NOT NULL,
    escalate_at BIGINT,
    acked_at    BIGINT,
    acked_by    TEXT,
    UNIQUE (rule_id, event_key)
);
CREATE INDEX tasks_due ON tasks (state, escalate_at);
CREATE INDEX tasks_sticky ON tasks (sticky_key, id);
CREATE INDEX tasks_load ON tasks (rule_id, assignee, state);

-- The dry run against a real event reads an order's newest event.
CREATE INDEX events_order ON events (order_sn, id);
