-- The audit log is evidence in disputes: each entry is sealed into a hash chain (see src/chain.rs).
-- seq is its position in the chain, NULL until the sealer reaches it; chain_hash its link.
ALTER TABLE audit ADD COLUMN seq BIGINT;
ALTER TABLE audit ADD COLUMN chain_hash TEXT;
CREATE UNIQUE INDEX audit_seq ON audit (seq);
CREATE INDEX audit_unsealed ON audit (id) WHERE seq IS NULL;

-- The chain's head (last sealed position and hash) and its base (first position still stored, and the
-- hash before it, moved forward when retention purges old entries). One row.
CREATE TABLE audit_chain (
    id        INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    seq       BIGINT NOT NULL,
    hash      TEXT    NOT NULL,
    base_seq  BIGINT NOT NULL,
    base_hash TEXT    NOT NULL
);
INSERT INTO audit_chain (id, seq, hash, base_seq, base_hash) VALUES (1, 0,
    '0000000000000000000000000000000000000000000000000000000000000000', 1,
    '0000000000000000000000000000000000000000000000000000000000000000');
