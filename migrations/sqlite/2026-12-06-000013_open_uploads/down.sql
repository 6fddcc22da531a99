DROP INDEX uploads_open_by_user;
DROP INDEX uploads_open_by_age;
CREATE INDEX uploads_created_by ON uploads (created_by);
CREATE INDEX uploads_updated_at ON uploads (updated_at);
