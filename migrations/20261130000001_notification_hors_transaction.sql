-- The readers are woken by the command side after each write (`commands::suivi::Reveil`), from
-- a transaction of its own, no longer by a trigger of the writing transaction: PostgreSQL
-- holds one cluster-wide lock from a notifying transaction's pre-commit to the end of its
-- commit, fsync included, which made every command wait for the previous command's fsync
-- (doc/performance.md). Events written by hand (SQL) wake nobody: the readers' poll finds them.
DROP TRIGGER events_notifier ON events;
DROP FUNCTION events_notifier();
