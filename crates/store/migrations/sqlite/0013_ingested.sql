-- What `mhd ingest operations` has stored, by the content of its input: each input is read in
-- chunks of records, and each chunk committed is remembered by a key chained from the key of
-- the chunk before it (`prev`, empty for an input's first) and the chunk's bytes, so the key
-- names everything up to the chunk's end. Ingesting the same input again skips every chunk
-- remembered (a re-run adds nothing), an interrupted ingest resumes after its last chunk, and
-- an input that grew gets only what is new stored.
CREATE TABLE ingested_chunks (
    key         TEXT    PRIMARY KEY,
    prev        TEXT    NOT NULL,
    records     INTEGER NOT NULL,
    stored      INTEGER NOT NULL,
    source      TEXT    NOT NULL,
    at_us       INTEGER NOT NULL
);
CREATE INDEX ingested_chunks_prev ON ingested_chunks (prev);
