DROP TABLE assessments;
DROP TABLE scheme_versions;
