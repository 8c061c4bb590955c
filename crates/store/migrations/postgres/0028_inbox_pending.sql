-- The pending pushes in arrival order, and only those: a pass of the inbox takes the oldest claimable ones
-- from here and stops once it has enough. Through inbox_due (state, due time) it read every due push of a
-- backlog and sorted them all to take the first hundred — 40 ms a pass with 50,000 waiting, the moment
-- the inbox most needs to keep up.
CREATE INDEX inbox_pending ON inbox (id) WHERE state = 'pending';
