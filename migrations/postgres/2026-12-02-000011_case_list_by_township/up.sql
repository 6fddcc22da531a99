-- A township's case list reads newest first within the township (township_code, then
-- opened_at, id descending) and stops at a page. With only cases_opened the planner walked
-- every case in the county newest first, skipping other townships' rows.
CREATE INDEX cases_township_opened ON cases (township_code, opened_at, id);
