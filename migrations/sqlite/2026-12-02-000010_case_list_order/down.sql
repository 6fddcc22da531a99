DROP INDEX cases_opened;
