-- Version 18 of the SQLite store counts each write transaction under the origin of the handle
-- that made it (`write_marks`), because SQLite says only that something was committed. Here
-- the change notifications name their writer already (version 16): nothing changes, and the
-- version follows so that both stores of one release have the same.
SELECT 1;
