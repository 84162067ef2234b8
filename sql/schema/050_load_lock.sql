-- load_lock: no rows; every transaction that writes staging or the star opens with LOCK TABLE load_lock,
-- so one load writes at a time. No query reads it, so readers (verify, report) never wait.
CREATE TABLE load_lock (
    held_by VARCHAR(40)
);
