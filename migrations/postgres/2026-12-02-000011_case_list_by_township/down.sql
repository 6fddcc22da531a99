DROP INDEX cases_township_opened;
