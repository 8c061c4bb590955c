-- Recipients an errcode-0 WeCom answer said it did not reach (invaliduser / invalidparty / invalidtag):
-- each value is reported to the admins once a day per destination.
CREATE TABLE unreached_reports (
    destination TEXT    NOT NULL,
    -- invaliduser, invalidparty or invalidtag.
    kind        TEXT    NOT NULL,
    value       TEXT    NOT NULL,
    -- Days since the Unix epoch, in China Standard Time.
    day         INTEGER NOT NULL,
    reported_at INTEGER NOT NULL,
    PRIMARY KEY (destination, kind, value, day)
);
