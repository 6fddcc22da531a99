DROP INDEX visits_case;
ALTER TABLE visits DROP COLUMN case_id;
DROP TABLE confirmation_delegations;
DROP TABLE appraisals;
DROP TABLE objections;
DROP TABLE case_events;
DROP TABLE cases;
DROP TABLE notices;
