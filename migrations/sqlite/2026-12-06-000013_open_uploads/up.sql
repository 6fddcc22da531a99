-- Only unfinished uploads are looked up by phone and digest (each upload create) or swept by
-- age. The plain indexes walked every upload a coordinator, or the whole county, had ever
-- finished: one row a photo, kept for good.
DROP INDEX uploads_created_by;
DROP INDEX uploads_updated_at;
CREATE INDEX uploads_open_by_user ON uploads (created_by, digest) WHERE completed_at IS NULL;
CREATE INDEX uploads_open_by_age ON uploads (updated_at) WHERE completed_at IS NULL;
