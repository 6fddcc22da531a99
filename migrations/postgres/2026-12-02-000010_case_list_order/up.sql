-- The case list reads newest first (opened_at, id descending) and stops at a page: walking
-- this index backwards finds the page without sorting every case in the scope.
CREATE INDEX cases_opened ON cases (opened_at, id);
