DROP TABLE visit_signatures;
DROP TABLE signatures;
ALTER TABLE uploads DROP COLUMN kind;
