-- The response-time watch scans conversations by their buyer's last message (unanswered ones nearing
-- the marketplaces' 12-hour mark), across holders and states.
CREATE INDEX conversations_last_buyer ON conversations (last_buyer_at);
